/**
 * One series in the head: its closed chunks packed into a single byte array (one allocation per
 * series instead of one per chunk), the open chunk being appended to, and an optional buffer of
 * out-of-order samples.
 */
import type { Labels } from '../model/labels.js';
import type { BytePool } from './byte-pool.js';
import { HI_WORD, LO_WORD, SAMPLES_PER_CHUNK, XorAppender, chunkSampleCount, decodeXorChunk } from './xor-chunk.js';

/** Per closed chunk in `closedMeta`: minT, maxT, end offset in `closedBytes`. */
const META_STRIDE = 3;

/** Out-of-order samples of a series, kept sorted by time; values as raw bits. */
export class OooBuffer {
  t: Float64Array;
  v: Float64Array;
  count: number;

  constructor() {
    this.t = new Float64Array(8);
    this.v = new Float64Array(8);
    this.count = 0;
  }

  /** Inserts a sample; returns false when a sample with the same timestamp is already present. */
  insert(t: number, v: Float64Array, vIndex: number): boolean {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.count && this.t[lo] === t) return false;
    if (this.count === this.t.length) {
      const nt = new Float64Array(this.count * 2);
      const nv = new Float64Array(this.count * 2);
      nt.set(this.t);
      nv.set(this.v);
      this.t = nt;
      this.v = nv;
    }
    this.t.copyWithin(lo + 1, lo, this.count);
    this.v.copyWithin(lo + 1, lo, this.count);
    this.t[lo] = t;
    // Copy through a typed-array set so the value's NaN payload is kept exactly.
    this.v.set(v.subarray(vIndex, vIndex + 1), lo);
    this.count++;
    return true;
  }

  /** Drops samples before `mint`. */
  truncate(mint: number): void {
    let k = 0;
    while (k < this.count && this.t[k]! < mint) k++;
    if (k === 0) return;
    this.t.copyWithin(0, k, this.count);
    this.v.copyWithin(0, k, this.count);
    this.count -= k;
  }
}

/** A head series. Fields are all assigned in the constructor to keep one hidden class. */
export class MemSeries {
  readonly ref: number;
  readonly labels: Labels;
  /** labelsHash of the labels. */
  readonly hash: number;
  closedBytes: Uint8Array;
  closedLen: number;
  closedMeta: number[];
  open: XorAppender | null;
  /** Timestamp from which the open chunk must be cut (the next block boundary). */
  openBoundary: number;
  /** Time of the newest in-order sample, -Infinity when empty. */
  lastT: number;
  /** Raw bits of the newest in-order sample's value, for the duplicate check. */
  lastHi: number;
  lastLo: number;
  ooo: OooBuffer | null;
  /** The newest time accepted by the appender that last touched this series (validation only). */
  pendingT: number;
  pendingHi: number;
  pendingLo: number;
  /** Id of the appender that last touched this series (counts distinct series per batch). */
  appenderMark: number;
  /** Whether the series record is in the WAL. */
  walLogged: boolean;
  /** Set once the series has been removed from the head. */
  deleted: boolean;
  /** The head's pool for chunk buffers (shared by all its series). */
  private readonly pool: BytePool;

  constructor(ref: number, labels: Labels, hash: number, pool: BytePool) {
    this.pool = pool;
    this.ref = ref;
    this.labels = labels;
    this.hash = hash;
    this.closedBytes = EMPTY_BYTES;
    this.closedLen = 0;
    this.closedMeta = [];
    this.open = null;
    this.openBoundary = -Infinity;
    this.lastT = -Infinity;
    this.lastHi = 0;
    this.lastLo = 0;
    this.ooo = null;
    this.pendingT = -Infinity;
    this.pendingHi = 0;
    this.pendingLo = 0;
    this.appenderMark = 0;
    this.walLogged = false;
    this.deleted = false;
  }

  /**
   * Appends in-order sample `i` (time ts[i] > lastT, value bits at bits[2i..2i+1]), cutting a
   * chunk at 120 samples or a block boundary.
   */
  appendInOrder(ts: Float64Array, bits: Uint32Array, i: number, blockDurationMs: number): void {
    const t = ts[i]!;
    let open = this.open;
    if (open === null || open.count >= SAMPLES_PER_CHUNK || t >= this.openBoundary) {
      this.closeOpenChunk();
      // Sized for a typical full chunk (120 samples at ~1.2 bytes); noisy series grow it.
      open = new XorAppender(128, this.pool);
      this.open = open;
      this.openBoundary = (Math.floor(t / blockDurationMs) + 1) * blockDurationMs;
    }
    open.appendAt(ts, bits, i);
    this.lastT = t;
    this.lastHi = bits[2 * i + HI_WORD]!;
    this.lastLo = bits[2 * i + LO_WORD]!;
  }

  /** Adds an already-encoded closed chunk (checkpoint restore); chunks must arrive in time order. */
  addClosedChunk(bytes: Uint8Array, minT: number, maxT: number): void {
    this.ensureClosed(bytes.length);
    this.closedBytes.set(bytes, this.closedLen);
    this.closedLen += bytes.length;
    this.closedMeta.push(minT, maxT, this.closedLen);
  }

  /** Restores an open chunk (checkpoint restore). */
  restoreOpenChunk(open: XorAppender, blockDurationMs: number): void {
    this.closeOpenChunk();
    this.open = open;
    this.openBoundary = (Math.floor(open.minT / blockDurationMs) + 1) * blockDurationMs;
  }

  /** Sets the newest-sample state after a restore (decoding only when the last chunk is closed). */
  restoreLast(): void {
    if (this.open !== null) {
      this.lastT = this.open.maxT;
      this.lastHi = this.open.lastHi;
      this.lastLo = this.open.lastLo;
      return;
    }
    const n = this.chunkCount();
    if (n === 0) return;
    const c = this.chunk(n - 1);
    const cnt = chunkSampleCount(c.bytes);
    const t = new Float64Array(cnt);
    const v = new Float64Array(cnt);
    decodeXorChunk(c.bytes, c.minT, t, v, 0);
    const bits = new Uint32Array(v.buffer);
    this.lastT = t[cnt - 1]!;
    this.lastHi = bits[2 * (cnt - 1) + HI_WORD]!;
    this.lastLo = bits[2 * (cnt - 1) + LO_WORD]!;
  }

  private ensureClosed(extra: number): void {
    const need = this.closedLen + extra;
    if (need <= this.closedBytes.length) return;
    // Exact growth: closed chunks arrive once per chunk range, and the pool rounds up anyway.
    const grown = this.pool.alloc(need);
    grown.set(this.closedBytes.subarray(0, this.closedLen));
    this.pool.release(this.closedBytes);
    this.closedBytes = grown;
  }

  private closeOpenChunk(): void {
    const open = this.open;
    if (open === null) return;
    this.addClosedChunk(open.view(), open.minT, open.maxT);
    open.release();
    this.open = null;
  }

  chunkCount(): number {
    return this.closedMeta.length / META_STRIDE + (this.open === null ? 0 : 1);
  }

  /** Chunk `i` (oldest first) as a view; the open chunk's view is valid until the next append. */
  chunk(i: number): { bytes: Uint8Array; minT: number; maxT: number } {
    const closed = this.closedMeta.length / META_STRIDE;
    if (i < closed) {
      const m = this.closedMeta;
      const start = i === 0 ? 0 : m[(i - 1) * META_STRIDE + 2]!;
      return { bytes: this.closedBytes.subarray(start, m[i * META_STRIDE + 2]!), minT: m[i * META_STRIDE]!, maxT: m[i * META_STRIDE + 1]! };
    }
    const open = this.open!;
    return { bytes: open.view(), minT: open.minT, maxT: open.maxT };
  }

  /** Oldest sample time, or +Infinity when the series holds none. */
  minTime(): number {
    let t = Infinity;
    if (this.closedMeta.length > 0) t = this.closedMeta[0]!;
    else if (this.open !== null) t = this.open.minT;
    if (this.ooo !== null && this.ooo.count > 0) t = Math.min(t, this.ooo.t[0]!);
    return t;
  }

  /** Newest sample time (in-order or out-of-order), -Infinity when empty. */
  maxTime(): number {
    let t = this.lastT;
    if (this.ooo !== null && this.ooo.count > 0) t = Math.max(t, this.ooo.t[this.ooo.count - 1]!);
    return t;
  }

  /** Drops chunks entirely before `mint` (and older out-of-order samples); true when the series is now empty. */
  truncate(mint: number): boolean {
    const m = this.closedMeta;
    let drop = 0;
    while (drop * META_STRIDE < m.length && m[drop * META_STRIDE + 1]! < mint) drop++;
    if (drop > 0) {
      const cut = m[(drop - 1) * META_STRIDE + 2]!;
      const rest = m.slice(drop * META_STRIDE);
      for (let i = 2; i < rest.length; i += META_STRIDE) rest[i] = rest[i]! - cut;
      this.closedMeta = rest;
      this.closedLen -= cut;
      const kept = this.closedLen === 0 ? EMPTY_BYTES : this.pool.alloc(this.closedLen);
      kept.set(this.closedBytes.subarray(cut, cut + this.closedLen));
      this.pool.release(this.closedBytes);
      this.closedBytes = kept;
    }
    if (this.open !== null && this.open.maxT < mint && this.closedMeta.length === 0) {
      this.open.release();
      this.open = null;
    }
    if (this.ooo !== null) {
      this.ooo.truncate(mint);
      if (this.ooo.count === 0) this.ooo = null;
    }
    return this.closedMeta.length === 0 && this.open === null && this.ooo === null;
  }

  /** Whether any sample lies in [lo, hi] (decodes only chunks that straddle a range end). */
  hasSamplesIn(lo: number, hi: number): boolean {
    if (this.minTime() > hi || this.maxTime() < lo) return false;
    const n = this.chunkCount();
    for (let i = 0; i < n; i++) {
      const c = this.chunk(i);
      if (c.minT >= lo && c.maxT <= hi) return true;
    }
    return this.samples(lo, hi) !== null;
  }

  /**
   * Samples with lo <= t <= hi, merged with out-of-order samples (chunk data wins on equal
   * timestamps), or null when there are none. The arrays are freshly allocated for the caller.
   */
  samples(lo: number, hi: number): { t: Float64Array; v: Float64Array } | null {
    const n = this.chunkCount();
    let upper = 0;
    for (let i = 0; i < n; i++) {
      const c = this.chunk(i);
      if (c.maxT >= lo && c.minT <= hi) upper += chunkSampleCount(c.bytes);
    }
    const ooo = this.ooo;
    let t: Float64Array = new Float64Array(upper);
    let v: Float64Array = new Float64Array(upper);
    let w = 0;
    if (upper > 0) {
      let filled = 0;
      for (let i = 0; i < n; i++) {
        const c = this.chunk(i);
        if (c.maxT >= lo && c.minT <= hi) filled += decodeXorChunk(c.bytes, c.minT, t, v, filled);
      }
      for (let r = 0; r < filled; r++) {
        const ts = t[r]!;
        if (ts < lo || ts > hi) continue;
        if (w !== r) {
          t[w] = ts;
          v.copyWithin(w, r, r + 1);
        }
        w++;
      }
    }
    if (ooo !== null && ooo.count > 0 && ooo.t[0]! <= hi && ooo.t[ooo.count - 1]! >= lo) {
      const merged = mergeSamples(t, v, w, ooo.t, ooo.v, ooo.count, lo, hi);
      t = merged.t;
      v = merged.v;
      w = merged.n;
    }
    if (w === 0) return null;
    return { t: t.subarray(0, w), v: v.subarray(0, w) };
  }
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Merges two time-sorted sample runs restricted to [lo, hi]; on equal timestamps the first run's
 * sample is kept. Values are copied with typed-array copies so NaN payloads survive.
 */
export function mergeSamples(
  at: Float64Array,
  av: Float64Array,
  an: number,
  bt: Float64Array,
  bv: Float64Array,
  bn: number,
  lo: number,
  hi: number,
): { t: Float64Array; v: Float64Array; n: number } {
  const t = new Float64Array(an + bn);
  const v = new Float64Array(an + bn);
  const vBits = new Uint32Array(v.buffer);
  const aBits = new Uint32Array(av.buffer, av.byteOffset, an * 2);
  const bBits = new Uint32Array(bv.buffer, bv.byteOffset, bn * 2);
  let i = 0;
  let j = 0;
  let w = 0;
  while (j < bn && bt[j]! < lo) j++;
  while (i < an || j < bn) {
    const ta = i < an ? at[i]! : Infinity;
    const tb = j < bn ? bt[j]! : Infinity;
    if (ta <= tb) {
      if (ta > hi) break;
      t[w] = ta;
      vBits[2 * w] = aBits[2 * i]!;
      vBits[2 * w + 1] = aBits[2 * i + 1]!;
      w++;
      i++;
      if (ta === tb) j++;
    } else {
      if (tb > hi) break;
      t[w] = tb;
      vBits[2 * w] = bBits[2 * j]!;
      vBits[2 * w + 1] = bBits[2 * j + 1]!;
      w++;
      j++;
    }
  }
  return { t, v, n: w };
}
