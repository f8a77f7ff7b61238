/**
 * Reads across persisted blocks and the head: each source answers in label order, the results
 * are merged, and a series present in several sources has its samples merged by time (the
 * older source wins on equal timestamps, so data cut into a block but not yet dropped from the
 * head is not counted twice).
 */
import { compareLabels, type Labels } from '../model/labels.js';
import { compileMatcher, type Matcher } from '../model/matchers.js';
import type { Querier, SelectHints, SeriesData } from '../storage/interfaces.js';
import type { Block } from './block.js';
import type { Head } from './head.js';
import { mergeSamples } from './mem-series.js';

/** The data a querier reads: the head and a snapshot of the block list. */
export interface QuerierSources {
  readonly head: Head;
  /** Blocks at the time the querier was created, sorted by time. */
  readonly blocks: readonly Block[];
  /** Called when a block turns out to be corrupt; the query continues without it. */
  onCorrupt(block: Block, err: Error): void;
}

function mergeData(a: SeriesData, b: SeriesData): SeriesData {
  const an = a.timestamps.length;
  const bn = b.timestamps.length;
  if (a.timestamps[an - 1]! < b.timestamps[0]!) {
    const t = new Float64Array(an + bn);
    const v = new Float64Array(an + bn);
    t.set(a.timestamps);
    t.set(b.timestamps, an);
    v.set(a.values);
    v.set(b.values, an);
    return { labels: a.labels, timestamps: t, values: v };
  }
  const m = mergeSamples(a.timestamps, a.values, an, b.timestamps, b.values, bn, -Infinity, Infinity);
  return { labels: a.labels, timestamps: m.t.subarray(0, m.n), values: m.v.subarray(0, m.n) };
}

/** Merges two label-sorted lists, combining entries with equal labels. */
function mergeSorted<T>(a: T[], b: T[], labelsOf: (x: T) => Labels, combine: (x: T, y: T) => T): T[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = compareLabels(labelsOf(a[i]!), labelsOf(b[j]!));
    if (c < 0) out.push(a[i++]!);
    else if (c > 0) out.push(b[j++]!);
    else out.push(combine(a[i++]!, b[j++]!));
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** A Querier over [mint, maxt] (ms, inclusive) merging blocks and head. */
export function createQuerier(src: QuerierSources, mint: number, maxt: number): Querier {
  const blocksIn = (lo: number, hi: number): Block[] => src.blocks.filter((b) => b.minT <= hi && b.maxT > lo);

  async function fromBlocks<T>(lo: number, hi: number, read: (b: Block) => Promise<T[]> | T[], empty: T[]): Promise<T[][]> {
    const out: T[][] = [];
    for (const b of blocksIn(lo, hi)) {
      try {
        out.push(await read(b));
      } catch (err) {
        src.onCorrupt(b, err as Error);
        out.push(empty);
      }
    }
    return out;
  }

  const seriesLabels = async (matchers: readonly Matcher[]): Promise<Labels[]> => {
    const compiled = matchers.map(compileMatcher);
    let out: Labels[] = [];
    for (const part of await fromBlocks(mint, maxt, (b) => b.seriesLabels(compiled, mint, maxt), [])) {
      out = mergeSorted(out, part, (l) => l, (x) => x);
    }
    const head = src.head
      .select(compiled, mint, maxt)
      .filter((s) => s.hasSamplesIn(mint, maxt))
      .map((s) => s.labels);
    return mergeSorted(out, head, (l) => l, (x) => x);
  };

  return {
    async select(matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]> {
      const lo = Math.max(mint, hints.start);
      const hi = Math.min(maxt, hints.end);
      if (lo > hi) return [];
      const compiled = matchers.map(compileMatcher);
      let out: SeriesData[] = [];
      for (const part of await fromBlocks(lo, hi, (b) => b.select(compiled, lo, hi), [])) {
        out = mergeSorted(out, part, (d) => d.labels, mergeData);
      }
      const head: SeriesData[] = [];
      for (const s of src.head.select(compiled, lo, hi)) {
        const d = s.samples(lo, hi);
        if (d !== null) head.push({ labels: s.labels, timestamps: d.t, values: d.v });
      }
      return mergeSorted(out, head, (d) => d.labels, mergeData);
    },

    series: seriesLabels,

    async labelNames(matchers: readonly Matcher[]): Promise<string[]> {
      const names = new Set<string>();
      if (matchers.length === 0) {
        for (const b of blocksIn(mint, maxt)) for (const n of b.labelNames()) names.add(n);
        for (const n of src.head.postings.labelNames()) names.add(n);
      } else {
        for (const l of await seriesLabels(matchers)) for (const x of l) names.add(x.name);
      }
      return [...names].sort();
    },

    async labelValues(name: string, matchers: readonly Matcher[]): Promise<string[]> {
      const values = new Set<string>();
      if (matchers.length === 0) {
        for (const b of blocksIn(mint, maxt)) for (const v of b.labelValues(name)) values.add(v);
        for (const v of src.head.postings.labelValues(name)) values.add(v);
      } else {
        for (const l of await seriesLabels(matchers)) for (const x of l) if (x.name === name) values.add(x.value);
      }
      return [...values].sort();
    },
  };
}
