/**
 * Remembers recently seen series of remote write requests: the decoded, validated Labels and the
 * storage's series ref, found again from the raw label bytes of the next request. Senders repeat
 * the same series every few seconds, so a hit skips decoding label strings, allocating label
 * objects, validating, and the storage's own label lookup (the ref is passed to append).
 *
 * Entries are checked byte for byte against the cached strings, never trusted on the hash alone.
 * The table is direct-mapped with a fixed number of slots (a colliding series replaces the old
 * one), so memory stays bounded; only already-canonical ASCII label sets are cached.
 */
import type { Labels } from '../../../model/labels.js';
import type { SeriesRef } from '../../../storage/interfaces.js';

/**
 * Label byte ranges of one series: for label i, [4i] name start, [4i+1] name end,
 * [4i+2] value start, [4i+3] value end (offsets into the request buffer).
 */
export type LabelRanges = Int32Array;

export class SeriesCache {
  private readonly hashes: Int32Array;
  private readonly labels: (Labels | undefined)[];
  private readonly refs: Float64Array;
  private readonly mask: number;

  /**
   * 2^18 slots (about 5 MB): a series hits when no other active series shares its slot, so with
   * 100k active series 2^16 slots hit about e^(-100k/65k) = 22 % of the time, 2^18 about 68 %.
   */
  constructor(slotsLog2 = 18) {
    const size = 1 << slotsLog2;
    this.hashes = new Int32Array(size);
    this.labels = new Array<Labels | undefined>(size).fill(undefined);
    this.refs = new Float64Array(size);
    this.mask = size - 1;
  }

  /** The slot holding exactly these labels, or -1. */
  find(buf: Uint8Array, ranges: LabelRanges, count: number, hash: number): number {
    const slot = hash & this.mask;
    const cached = this.labels[slot];
    if (cached === undefined || this.hashes[slot] !== hash || cached.length !== count) return -1;
    for (let i = 0; i < count; i++) {
      const l = cached[i]!;
      if (!sameAscii(l.name, buf, ranges[4 * i]!, ranges[4 * i + 1]!)) return -1;
      if (!sameAscii(l.value, buf, ranges[4 * i + 2]!, ranges[4 * i + 3]!)) return -1;
    }
    return slot;
  }

  labelsAt(slot: number): Labels {
    return this.labels[slot]!;
  }

  refAt(slot: number): SeriesRef {
    return this.refs[slot]!;
  }

  setRef(slot: number, ref: SeriesRef): void {
    this.refs[slot] = ref;
  }

  /** Forgets every ref (kept labels stay): after a rollback, refs of series created by it may be void. */
  clearRefs(): void {
    this.refs.fill(0);
  }

  /** Caches canonical labels (sorted, valid, as received) under `hash`; returns the slot. */
  store(hash: number, labels: Labels): number {
    const slot = hash & this.mask;
    this.hashes[slot] = hash;
    this.labels[slot] = labels;
    this.refs[slot] = 0;
    return slot;
  }
}

function sameAscii(s: string, buf: Uint8Array, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/** FNV-1a over the label bytes, with separators so that ("ab","c") and ("a","bc") differ. */
export function hashLabelRanges(buf: Uint8Array, ranges: LabelRanges, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4 * count; i += 2) {
    for (let p = ranges[i]!, end = ranges[i + 1]!; p < end; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
  }
  return h | 0;
}
