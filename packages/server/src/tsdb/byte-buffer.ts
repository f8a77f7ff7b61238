/**
 * Growable byte writer and bounds-checked reader for the WAL and block index formats (and the
 * signal store's journal records): varints, fixed-width integers, float64s and their raw bit
 * patterns, and length-prefixed UTF-8 strings.
 */

/** Strings up to this length are tried as ASCII first (their length then fits the 1-byte form). */
const SHORT_STRING = 32;

/** Appends encoded fields to a growable Buffer; `view()` returns the bytes written so far. */
export class ByteWriter {
  buf: Buffer;
  len: number;

  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
    this.len = 0;
  }

  reset(): void {
    this.len = 0;
  }

  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  /** Unsigned varint of an integer in [0, 2^53). */
  uvarint(value: number): void {
    this.ensure(8);
    const buf = this.buf;
    let v = value;
    while (v >= 0x80) {
      buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.len++] = v;
  }

  /** Zigzag varint of an integer with |value| < 2^52. */
  varint(value: number): void {
    this.uvarint(value < 0 ? -2 * value - 1 : 2 * value);
  }

  /** A float64 as its raw bits (little-endian), given as 32-bit halves so NaN payloads survive. */
  f64bits(hi: number, lo: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.len);
    this.buf.writeUInt32LE(hi >>> 0, this.len + 4);
    this.len += 8;
  }

  /** A float64, little-endian. */
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }

  /** A signed 64-bit integer, little-endian. */
  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v, this.len);
    this.len += 8;
  }

  string(s: string): void {
    this.ensure(5 + s.length * 3);
    const lenPos = this.len;
    if (s.length <= SHORT_STRING && this.asciiAt(s, lenPos + 1)) {
      this.buf[lenPos] = s.length;
      this.len = lenPos + 1 + s.length;
      return;
    }
    // Reserve a 1-byte length for short strings, the common case; move the text when it is longer.
    const written = this.buf.write(s, lenPos + 1, 'utf8');
    if (written < 0x80) {
      this.buf[lenPos] = written;
      this.len = lenPos + 1 + written;
      return;
    }
    const text = Buffer.from(this.buf.subarray(lenPos + 1, lenPos + 1 + written));
    this.uvarint(written);
    this.bytes(text);
  }

  /** Copies `s` to `at` if it is ASCII (a loop is cheaper than a native call for short strings). */
  private asciiAt(s: string, at: number): boolean {
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    return true;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads fields written by ByteWriter; any read past `end` throws RangeError. */
export class ByteReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  /** High half of the last `f64bits()` read. */
  hi: number;
  /** Low half of the last `f64bits()` read. */
  lo: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.hi = 0;
    this.lo = 0;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError(`record truncated at byte ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    throw new RangeError(`varint too long at byte ${this.pos}`);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  f64bits(): void {
    this.need(8);
    this.lo = this.buf.readUInt32LE(this.pos);
    this.hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  string(): string {
    const n = this.uvarint();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}
