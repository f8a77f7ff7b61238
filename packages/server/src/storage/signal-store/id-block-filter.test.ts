import { describe, expect, it } from 'vitest';
import { ID_BLOCK_ROWS, IdBlockFilters } from './id-block-filter.js';
import { hash53 } from './string-hash.js';

describe('IdBlockFilters', () => {
  it('finds every added id in its block and rules out most blocks for an absent one', () => {
    const filters = new IdBlockFilters();
    const blocks = 8;
    for (let seq = 1; seq <= blocks * ID_BLOCK_ROWS; seq += 7) filters.add(seq, hash53(`req-${seq}`));
    for (const seq of [1, 8, 1 + 7 * 9363, 1 + 7 * 46812]) {
      const ranges = filters.seqRanges(hash53(`req-${seq}`));
      expect(ranges.some(([first, last]) => first <= seq && seq <= last)).toBe(true);
    }
    let falseBlocks = 0;
    for (let i = 0; i < 200; i++) for (const [first, last] of filters.seqRanges(hash53(`absent-${i}`))) falseBlocks += (last - first + 1) / ID_BLOCK_ROWS;
    expect(falseBlocks / (200 * blocks)).toBeLessThan(0.05);
  });

  it('merges adjacent candidate blocks into one range', () => {
    const filters = new IdBlockFilters();
    const h = hash53('same');
    for (const seq of [1, ID_BLOCK_ROWS + 1, 3 * ID_BLOCK_ROWS + 1]) filters.add(seq, h);
    expect(filters.seqRanges(h)).toEqual([
      [1, 2 * ID_BLOCK_ROWS],
      [3 * ID_BLOCK_ROWS + 1, 4 * ID_BLOCK_ROWS],
    ]);
  });

  it('hands each full block to one write, and again after that write failed', () => {
    const filters = new IdBlockFilters();
    filters.add(1, 42);
    filters.add(ID_BLOCK_ROWS + 1, 43);
    expect(filters.batch(ID_BLOCK_ROWS).rows().rowCount).toBe(0);
    const failing = filters.batch(ID_BLOCK_ROWS + 2);
    expect(Array.from(failing.rows().columns[0] as BigInt64Array)).toEqual([0n]);
    expect(filters.batch(ID_BLOCK_ROWS + 2).rows().rowCount).toBe(0);
    failing.release();
    const retry = filters.batch(ID_BLOCK_ROWS + 2);
    expect(retry.rows().rowCount).toBe(1);
    retry.committed();
    retry.release();
    expect(filters.batch(ID_BLOCK_ROWS + 2).rows().rowCount).toBe(0);
  });
});
