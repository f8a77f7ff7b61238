/**
 * A text column packed as UTF-8 bytes back to back with end offsets and a NULL flag per value: a
 * few typed arrays instead of one string per value, so a batch built in a worker thread crosses
 * to the writer by transfer (no string is copied or allocated on the event loop), and the writer
 * hands DuckDB bytes (values up to 12 bytes inline in bulk, longer ones one native call each).
 */

/** Packed texts: value i is bytes[ends[i-1] (0 for i = 0) .. ends[i]), or NULL where nulls[i] is 1. */
export interface PackedTexts {
  /** Number of values. */
  readonly length: number;
  readonly bytes: Uint8Array;
  readonly ends: Int32Array;
  readonly nulls: Uint8Array;
}

/** Whether a column value is packed texts (rather than an array or a typed array of numbers). */
export function isPackedTexts(values: unknown): values is PackedTexts {
  return typeof values === 'object' && values !== null && !Array.isArray(values) && !ArrayBuffer.isView(values) && 'ends' in values;
}

/** Value i of packed texts, or null. */
export function packedTextAt(p: PackedTexts, i: number): string | null {
  if (p.nulls[i] === 1) return null;
  const start = i === 0 ? 0 : p.ends[i - 1]!;
  return Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength).toString('utf8', start, p.ends[i]!);
}

/** The typed-array buffers of packed texts (to transfer them to another thread). */
export function packedTextBuffers(p: PackedTexts): ArrayBuffer[] {
  return [p.bytes.buffer as ArrayBuffer, p.ends.buffer as ArrayBuffer, p.nulls.buffer as ArrayBuffer];
}

/** Texts up to this many characters (or bytes) are copied in JavaScript rather than by a native call. */
const SHORT_TEXT = 32;

/** Packs up to `capacity` texts; the byte buffer grows as needed. */
export class PackedTextsWriter {
  private bytes: Buffer;
  private readonly ends: Int32Array;
  private readonly nulls: Uint8Array;
  private used = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    initialBytes = 64 * capacity,
  ) {
    this.bytes = Buffer.from(new ArrayBuffer(Math.max(64, initialBytes)));
    this.ends = new Int32Array(capacity);
    this.nulls = new Uint8Array(capacity);
  }

  /** Appends a text, or NULL. */
  push(text: string | null): void {
    const i = this.count++;
    if (text !== null) {
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      const need = this.used + 3 * text.length;
      if (need > this.bytes.length) this.grow(need);
      this.used = text.length <= SHORT_TEXT ? this.writeShort(text) : this.used + this.bytes.write(text, this.used);
    } else {
      this.nulls[i] = 1;
    }
    this.ends[i] = this.used;
  }

  /** Appends bytes[start, end) (UTF-8) as a text. */
  pushBytes(bytes: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.copy(bytes, start, end);
    this.ends[this.count++] = this.used;
  }

  /**
   * Appends a JSON object made of runs of members' text: `{` + bytes[runs[2k], runs[2k+1]) joined
   * by commas + `}`, for k below `runCount`.
   */
  pushObject(bytes: Uint8Array, runs: Int32Array, runCount: number): void {
    let length = 1 + runCount;
    for (let k = 0; k < runCount; k++) length += runs[2 * k + 1]! - runs[2 * k]!;
    this.reserve(length);
    const out = this.bytes;
    out[this.used++] = 0x7b;
    for (let k = 0; k < runCount; k++) {
      if (k > 0) out[this.used++] = 0x2c;
      this.copy(bytes, runs[2 * k]!, runs[2 * k + 1]!);
    }
    out[this.used++] = 0x7d;
    this.ends[this.count++] = this.used;
  }

  /** A short text byte by byte when it is ASCII (cheaper than a native call); the new end. */
  private writeShort(text: string): number {
    const out = this.bytes;
    let at = this.used;
    for (let k = 0; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c >= 0x80) return this.used + out.write(text, this.used);
      out[at++] = c;
    }
    return at;
  }

  private reserve(length: number): void {
    if (this.used + length > this.bytes.length) this.grow(this.used + length);
  }

  /** Copies bytes[start, end) to the end (short runs byte by byte, longer ones natively). */
  private copy(bytes: Uint8Array, start: number, end: number): void {
    const out = this.bytes;
    if (end - start <= SHORT_TEXT) {
      let at = this.used;
      for (let k = start; k < end; k++) out[at++] = bytes[k]!;
      this.used = at;
      return;
    }
    out.set(bytes.subarray(start, end), this.used);
    this.used += end - start;
  }

  /** The texts pushed; the writer must not be used afterwards. */
  finish(): PackedTexts {
    const n = this.count;
    return { length: n, bytes: this.bytes.subarray(0, this.used), ends: this.ends.subarray(0, n), nulls: this.nulls.subarray(0, n) };
  }

  private grow(need: number): void {
    const next = Buffer.from(new ArrayBuffer(Math.max(need, 2 * this.bytes.length)));
    this.bytes.copy(next, 0, 0, this.used);
    this.bytes = next;
  }
}
