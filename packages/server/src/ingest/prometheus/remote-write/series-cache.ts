/**
 * Remembers the series of remote write requests: the decoded, validated Labels and the storage's
 * series ref, found again from the raw label bytes of the next request. Senders repeat the same
 * series every few seconds, so a hit skips decoding label strings, allocating label objects,
 * validating, and the storage's own label lookup (the ref is passed to append).
 *
 * Entries are checked byte for byte against the cached strings, never trusted on the hash alone.
 * An open-addressing table (linear probing, at most half full) holds every active series, so
 * labels are decoded once per series rather than again whenever a colliding series evicted them
 * (the direct-mapped table it replaces missed a third of 100k series and churned the heap). Its
 * memory is bounded: past `maxEntries` it starts over empty. Only canonical ASCII label sets are
 * cached; their Label objects are shared between series (see `pair`).
 */
import type { Label, Labels } from '../../../model/labels.js';
import type { SeriesRef } from '../../../storage/interfaces.js';

/**
 * Label byte ranges of one series: for label i, [4i] name start, [4i+1] name end,
 * [4i+2] value start, [4i+3] value end (offsets into the request buffer).
 */
export type LabelRanges = Int32Array;

export class SeriesCache {
  /** Per slot: entry index + 1, 0 when empty. */
  private slots: Int32Array;
  private hashes: Int32Array;
  private refs: Float64Array;
  private labels: Labels[] = [];
  /** One Label object per distinct pair, shared by the cached label sets (name -> value -> label). */
  private pairs = new Map<string, Map<string, Label>>();
  private readonly maxEntries: number;

  /** `maxEntries`: series remembered before the table starts over (default 1M, about 40 MB of table). */
  constructor(maxEntries = 1 << 20) {
    this.maxEntries = maxEntries;
    this.slots = new Int32Array(1024);
    this.hashes = new Int32Array(512);
    this.refs = new Float64Array(512);
  }

  /** The entry holding exactly these labels, or -1. */
  find(buf: Uint8Array, ranges: LabelRanges, count: number, hash: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const e = slots[slot]! - 1;
      if (e < 0) return -1;
      if (this.hashes[e] !== hash) continue;
      const cached = this.labels[e]!;
      if (cached.length === count && sameLabels(cached, buf, ranges, count)) return e;
    }
  }

  labelsAt(entry: number): Labels {
    return this.labels[entry]!;
  }

  refAt(entry: number): SeriesRef {
    return this.refs[entry]!;
  }

  setRef(entry: number, ref: SeriesRef): void {
    this.refs[entry] = ref;
  }

  /** Forgets every ref (kept labels stay): after a rollback, refs of series created by it may be void. */
  clearRefs(): void {
    this.refs.fill(0);
  }

  /** The shared Label object for a pair (label sets to be cached are built from these). */
  pair(name: string, value: string): Label {
    let values = this.pairs.get(name);
    if (values === undefined) {
      values = new Map();
      this.pairs.set(name, values);
    }
    let label = values.get(value);
    if (label === undefined) {
      label = { name, value };
      values.set(value, label);
    }
    return label;
  }

  /** Caches canonical labels (sorted, valid, as received, not yet cached) under `hash`; returns the entry. */
  store(hash: number, labels: Labels): number {
    let e = this.labels.length;
    if (e >= this.maxEntries) {
      this.labels = [];
      this.pairs = new Map();
      this.slots.fill(0);
      e = 0;
    }
    if (e === this.hashes.length) {
      const hashes = new Int32Array(e * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
      const refs = new Float64Array(e * 2);
      refs.set(this.refs);
      this.refs = refs;
    }
    if (2 * (e + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    this.labels.push(labels);
    this.hashes[e] = hash;
    this.refs[e] = 0;
    this.place(e, hash);
    return e;
  }

  private place(e: number, hash: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let slot = hash & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = e + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let e = 0; e < this.labels.length; e++) this.place(e, this.hashes[e]!);
  }
}

function sameLabels(cached: Labels, buf: Uint8Array, ranges: LabelRanges, count: number): boolean {
  for (let i = 0; i < count; i++) {
    const l = cached[i]!;
    if (!sameAscii(l.name, buf, ranges[4 * i]!, ranges[4 * i + 1]!)) return false;
    if (!sameAscii(l.value, buf, ranges[4 * i + 2]!, ranges[4 * i + 3]!)) return false;
  }
  return true;
}

function sameAscii(s: string, buf: Uint8Array, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** FNV-1a over the label bytes, with separators so that ("ab","c") and ("a","bc") differ, then mixed. */
export function hashLabelRanges(buf: Uint8Array, ranges: LabelRanges, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4 * count; i += 2) {
    for (let p = ranges[i]!, end = ranges[i + 1]!; p < end; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
  }
  // Final mix: the table indexes by the low bits.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h | 0;
}
