import { describe, expect, it } from 'vitest';
import { SeriesCache, hashLabelRanges } from './series-cache.js';

/** Label bytes back to back and their ranges, as the decoder records them. */
function request(pairs: [string, string][]): { buf: Uint8Array; ranges: Int32Array } {
  const buf = Buffer.from(pairs.map(([n, v]) => n + v).join(''), 'latin1');
  const ranges = new Int32Array(pairs.length * 4);
  let o = 0;
  pairs.forEach(([n, v], i) => {
    ranges.set([o, o + n.length, o + n.length, o + n.length + v.length], 4 * i);
    o += n.length + v.length;
  });
  return { buf, ranges };
}

function store(cache: SeriesCache, pairs: [string, string][], hash: number): number {
  return cache.store(
    hash,
    pairs.map(([name, value]) => cache.pair(name, value)),
  );
}

function find(cache: SeriesCache, pairs: [string, string][], hash: number): number {
  const { buf, ranges } = request(pairs);
  return cache.find(buf, ranges, pairs.length, hash);
}

describe('SeriesCache', () => {
  it('finds a series again by its label bytes and keeps its ref', () => {
    const cache = new SeriesCache();
    const pairs: [string, string][] = [['__name__', 'up'], ['job', 'node']];
    const { buf, ranges } = request(pairs);
    const hash = hashLabelRanges(buf, ranges, 2);
    const e = store(cache, pairs, hash);
    cache.setRef(e, 42);
    expect(find(cache, pairs, hash)).toBe(e);
    expect(cache.refAt(e)).toBe(42);
    expect(cache.labelsAt(e)).toEqual([{ name: '__name__', value: 'up' }, { name: 'job', value: 'node' }]);
    cache.clearRefs();
    expect(cache.refAt(e)).toBe(0);
  });

  it('never matches other labels on an equal hash, however the same bytes are split', () => {
    const cache = new SeriesCache();
    store(cache, [['ab', 'c']], 7);
    expect(find(cache, [['a', 'bc']], 7)).toBe(-1);
    expect(find(cache, [['ab', 'c'], ['x', 'y']], 7)).toBe(-1);
    expect(find(cache, [['ab', 'd']], 7)).toBe(-1);
    expect(find(cache, [['ab', 'c']], 7)).toBe(0);
    expect(find(cache, [['ab', 'c']], 8)).toBe(-1);
  });

  it('holds many colliding series and starts over past its limit', () => {
    const cache = new SeriesCache(1000);
    for (let i = 0; i < 1000; i++) expect(store(cache, [['s', String(i)]], i % 3)).toBe(i);
    for (let i = 0; i < 1000; i++) expect(find(cache, [['s', String(i)]], i % 3)).toBe(i);
    expect(store(cache, [['s', 'new']], 1)).toBe(0);
    expect(find(cache, [['s', '5']], 2)).toBe(-1);
    expect(find(cache, [['s', 'new']], 1)).toBe(0);
  });
});
