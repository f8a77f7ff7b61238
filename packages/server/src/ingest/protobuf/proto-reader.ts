/**
 * A hand-written, bounds-checked protobuf wire-format reader for the ingest hot paths
 * (remote_write, OTLP metrics, and later OTLP logs and traces). Decoders walk messages field by
 * field with `tag()` and read values straight into their sinks, so no generated per-message
 * objects are built. Every malformed input raises a DecodeError naming what is wrong and where.
 */
import { isUtf8 } from 'node:buffer';
import type { StringInterner } from './string-interner.js';

/** Wire types of the protobuf encoding. Groups (3, 4) are deprecated and rejected. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

/** Malformed protobuf input. `offset` is the byte position in the decoded buffer. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    /** What was being decoded, e.g. "remote write". */
    readonly context: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${context}: ${detail} at byte ${offset}`);
  }
}

/**
 * Reads one buffer. Nested messages are read in place: `messageEnd()` returns the end offset of a
 * length-delimited field and the caller loops `while (r.pos < end)`.
 */
export class ProtoReader {
  readonly buf: Buffer;
  pos: number;
  private readonly view: DataView;

  constructor(
    bytes: Uint8Array,
    /** Prefix of error messages, e.g. "remote write". */
    readonly context: string,
    /** Optional cache of repeated short strings (label names and values), shared across requests. */
    private readonly interner: StringInterner | null = null,
  ) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number {
    return this.buf.length;
  }

  /** A DecodeError at the current position (or `at`). */
  error(detail: string, at: number = this.pos): DecodeError {
    return new DecodeError(this.context, at, detail);
  }

  /** Reads a field key; returns `field << 3 | wireType` after checking both. */
  tag(end: number): number {
    const start = this.pos;
    const key = this.uint32();
    if (this.pos > end) throw this.error('field key crosses the end of its message', start);
    const wt = key & 7;
    if (key >>> 3 === 0) throw this.error('invalid field number 0', start);
    if (wt !== WIRE_VARINT && wt !== WIRE_FIXED64 && wt !== WIRE_LENGTH_DELIMITED && wt !== WIRE_FIXED32) {
      throw this.error(`unsupported wire type ${wt}`, start);
    }
    return key;
  }

  /** A varint that must fit in 32 bits (keys, lengths, enums, uint32); higher bits are dropped. */
  uint32(): number {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    if (p < buf.length && buf[p]! < 0x80) {
      this.pos = p + 1;
      return buf[p]!;
    }
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= buf.length) throw this.error('truncated varint', start);
      if (shift >= 70) throw this.error('varint longer than 10 bytes', start);
      const b = buf[p++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    this.pos = p;
    return result >>> 0;
  }

  /** A varint read as an unsigned 64-bit value: returns the low and high 32-bit halves in `out`. */
  private varint64(out: Uint32Array): void {
    const buf = this.buf;
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    let p = start;
    let shift = 0;
    for (;;) {
      if (p >= buf.length) throw this.error('truncated varint', start);
      if (shift >= 70) throw this.error('varint longer than 10 bytes', start);
      const b = buf[p++]!;
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      shift += 7;
      if (b < 0x80) break;
    }
    this.pos = p;
    out[0] = lo;
    out[1] = hi;
  }

  private readonly halves = new Uint32Array(2);

  /** An unsigned 64-bit varint as a number (exact below 2^53). */
  uint64(): number {
    this.varint64(this.halves);
    return this.halves[1]! * TWO_32 + this.halves[0]!;
  }

  /** A signed (two's complement) 64-bit varint as a number (exact within ±2^53). */
  int64(): number {
    this.varint64(this.halves);
    return signed64(this.halves[0]!, this.halves[1]!);
  }

  /** A signed 64-bit varint as an exact bigint (for attribute values, where fidelity beats speed). */
  int64Big(): bigint {
    this.varint64(this.halves);
    return BigInt.asIntN(64, (BigInt(this.halves[1]!) << 32n) | BigInt(this.halves[0]!));
  }

  /** A zigzag-encoded signed 64-bit varint (sint64) as a number. */
  sint64(): number {
    this.varint64(this.halves);
    const lo = this.halves[0]!;
    const hi = this.halves[1]!;
    const mag = (hi >>> 1) * TWO_32 + (((lo >>> 1) | (hi << 31)) >>> 0);
    return lo & 1 ? -mag - 1 : mag;
  }

  /** A zigzag-encoded sint32. */
  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  /** An int32 varint (negative values are sign-extended to 10 bytes on the wire). */
  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.buf.length) throw this.error(`truncated ${n}-byte fixed field`);
    this.pos = p + n;
    return p;
  }

  double(): number {
    return this.view.getFloat64(this.need(8), true);
  }

  float(): number {
    return this.view.getFloat32(this.need(4), true);
  }

  fixed32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  /** An unsigned fixed64 as a number (exact below 2^53). */
  fixed64(): number {
    const p = this.need(8);
    return this.view.getUint32(p + 4, true) * TWO_32 + this.view.getUint32(p, true);
  }

  /** A signed sfixed64 as a number (exact within ±2^53). */
  sfixed64(): number {
    const p = this.need(8);
    return signed64(this.view.getUint32(p, true), this.view.getUint32(p + 4, true));
  }

  /**
   * A fixed64 count of nanoseconds since the epoch, converted exactly to whole milliseconds
   * (floor), without the rounding a float64 of the nanoseconds would introduce.
   */
  fixed64NanosToMillis(): number {
    const p = this.need(8);
    const lo = this.view.getUint32(p, true);
    const hi = this.view.getUint32(p + 4, true);
    // hi * 2^32 = hi * 4294 * 1e6 + hi * 967296; each partial term stays below 2^53.
    return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
  }

  /**
   * Reads the length of a length-delimited field and returns its end offset, checked against
   * `limit` (the enclosing message's end; the whole buffer by default).
   */
  messageEnd(limit: number = this.buf.length): number {
    const start = this.pos;
    const len = this.uint32();
    const end = this.pos + len;
    if (end > limit) throw this.error(`truncated: length ${len} exceeds the remaining ${Math.max(0, limit - this.pos)} bytes`, start);
    return end;
  }

  /** A length-delimited UTF-8 string within `limit`; invalid UTF-8 is rejected. */
  string(limit: number = this.buf.length): string {
    const end = this.messageEnd(limit);
    const start = this.pos;
    this.pos = end;
    return this.decodeUtf8(start, end);
  }

  /** Decodes buf[start, end) as UTF-8, rejecting invalid sequences. */
  decodeUtf8(start: number, end: number): string {
    const buf = this.buf;
    if (this.interner !== null) {
      const interned = this.interner.ascii(buf, start, end);
      if (interned !== null) return interned;
    }
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        if (!isUtf8(buf.subarray(start, end))) throw this.error('invalid UTF-8 in string field', start);
        return buf.toString('utf8', start, end);
      }
    }
    return buf.toString('latin1', start, end);
  }

  /** A length-delimited bytes field within `limit`, as a view into the buffer (not a copy). */
  bytes(limit: number = this.buf.length): Buffer {
    const end = this.messageEnd(limit);
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** Skips one field's value of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64(this.halves);
        return;
      case WIRE_FIXED64:
        this.need(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.messageEnd();
        return;
      case WIRE_FIXED32:
        this.need(4);
        return;
      default:
        throw this.error(`unsupported wire type ${wireType}`);
    }
  }

  /** Throws unless a nested message ended exactly at its declared end. */
  expectEnd(end: number, what: string): void {
    if (this.pos !== end) throw this.error(`${what} overruns its declared length`);
  }
}

function signed64(lo: number, hi: number): number {
  if (hi & 0x80000000) {
    // Two's complement negation of the 64-bit value.
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    return -(nhi * TWO_32 + nlo);
  }
  return hi * TWO_32 + lo;
}

/** Throws a DecodeError when a field arrives with a wire type other than the schema's. */
export function expectWireType(r: ProtoReader, key: number, wireType: number, field: string): void {
  if ((key & 7) !== wireType) throw r.error(`field ${field} has wire type ${key & 7}, expected ${wireType}`);
}
