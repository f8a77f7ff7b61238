/**
 * Remembers the series of remote write requests: the decoded, validated Labels and the storage's
 * series ref, found again from the raw label bytes of the next request. Senders repeat the same
 * series every few seconds, so a hit skips decoding label strings, allocating label objects,
 * validating, and the storage's own label lookup (the ref is passed to append).
 *
 * Entries are checked byte for byte against a copy of the label bytes they were cached from
 * (each name and value as a 2-byte length and its bytes), never trusted on the hash alone.
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
  /** Label bytes of every entry, back to back; entry e's are keys[keyStarts[e] .. keyStarts[e + 1]). */
  private keys = new Uint8Array(1 << 16);
  private keyStarts = new Int32Array(513);
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
      if (this.hashes[e] === hash && this.sameKey(e, buf, ranges, count)) return e;
    }
  }

  private sameKey(e: number, buf: Uint8Array, ranges: LabelRanges, count: number): boolean {
    const keys = this.keys;
    let k = this.keyStarts[e]!;
    const end = this.keyStarts[e + 1]!;
    for (let i = 0; i < 4 * count; i += 2) {
      const from = ranges[i]!;
      const to = ranges[i + 1]!;
      if (k + 2 > end || ((keys[k]! << 8) | keys[k + 1]!) !== to - from) return false;
      k += 2;
      for (let p = from; p < to; p++) if (keys[k++] !== buf[p]) return false;
    }
    return k === end;
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

  /**
   * Caches canonical labels (sorted, valid, ASCII, as received in `buf` at `ranges`, not yet
   * cached) under `hash`; returns the entry, or -1 when a name or value is too long to cache.
   */
  store(hash: number, labels: Labels, buf: Uint8Array, ranges: LabelRanges, count: number): number {
    for (let i = 0; i < 4 * count; i += 2) if (ranges[i + 1]! - ranges[i]! > 0xffff) return -1;
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
      const starts = new Int32Array(e * 2 + 1);
      starts.set(this.keyStarts);
      this.keyStarts = starts;
    }
    let k = this.keyStarts[e]!;
    let need = k;
    for (let i = 0; i < 4 * count; i += 2) need += ranges[i + 1]! - ranges[i]! + 2;
    if (need > this.keys.length) {
      const keys = new Uint8Array(Math.max(need, this.keys.length * 2));
      keys.set(this.keys.subarray(0, k));
      this.keys = keys;
    }
    for (let i = 0; i < 4 * count; i += 2) {
      const len = ranges[i + 1]! - ranges[i]!;
      this.keys[k++] = len >>> 8;
      this.keys[k++] = len & 0xff;
      this.keys.set(buf.subarray(ranges[i]!, ranges[i + 1]!), k);
      k += len;
    }
    this.keyStarts[e + 1] = k;
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
