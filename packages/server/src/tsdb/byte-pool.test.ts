import { describe, expect, it } from 'vitest';
import { BytePool } from './byte-pool.js';

describe('BytePool', () => {
  it('hands out zeroed buffers of a size class, reusing released ones zeroed again', () => {
    const pool = new BytePool();
    const a = pool.alloc(100);
    expect(a.length).toBe(128);
    expect(a.every((x) => x === 0)).toBe(true);
    a.fill(7);
    const b = pool.alloc(100);
    expect(b.byteOffset).not.toBe(a.byteOffset);
    pool.release(a);
    const c = pool.alloc(120);
    expect(c).toBe(a);
    expect(c.every((x) => x === 0)).toBe(true);
  });

  it('gives large requests their own buffer and ignores buffers it did not hand out', () => {
    const pool = new BytePool();
    const big = pool.alloc(10_000);
    expect(big.length).toBe(10_000);
    pool.release(big);
    const foreign = new Uint8Array(128);
    pool.release(foreign);
    expect(pool.alloc(128)).not.toBe(foreign);
  });

  it('keeps buffers of one page disjoint across many allocations', () => {
    const pool = new BytePool();
    const bufs = Array.from({ length: 5000 }, (_, i) => pool.alloc(32 + (i % 7) * 100));
    bufs.forEach((b, i) => b.fill(i % 251));
    bufs.forEach((b, i) => expect(b.every((x) => x === i % 251)).toBe(true));
  });
});
