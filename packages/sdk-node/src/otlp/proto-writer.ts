/**
 * A minimal protobuf writer for the OTLP encoders: one growable buffer reused across exports,
 * nested messages length-prefixed in place (one byte reserved, shifted only when longer than 127).
 */
import type { AttributeValue } from '@opentelemetry/api';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LD = 2;
const WIRE_FIXED32 = 5;
const NANOS_PER_SECOND = 1_000_000_000n;
const INT64_LIMIT = 2 ** 63;
/** Value of each hex digit by character code (0 for anything else, as ids are validated upstream). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

/** A value an OTLP AnyValue can hold (attribute values, log bodies). */
export type AnyValueInput = AttributeValue | Uint8Array | null | undefined | { [key: string]: AnyValueInput } | AnyValueInput[];

/** Writes protobuf fields into a reused buffer; `finish()` returns a copy of what was written. */
export class ProtoWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  private readonly starts: number[] = [];

  /** Starts a new message from an empty buffer. */
  reset(): void {
    this.pos = 0;
    this.starts.length = 0;
  }

  /** A copy of the bytes written (the buffer itself is reused by the next export). */
  finish(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }

  /** The bytes written so far, without a copy: valid until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Where the next write goes: `rollback()` to it undoes a message left half written by an error. */
  checkpoint(): number {
    return this.pos;
  }

  /** Returns to a checkpoint taken with `depth` messages open. */
  rollback(checkpoint: number, depth: number): void {
    this.pos = checkpoint;
    this.starts.length = depth;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private varint(v: number): void {
    this.ensure(10);
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** Opens a length-delimited field; close it with `end()`. */
  begin(field: number): void {
    this.tag(field, WIRE_LD);
    this.ensure(1);
    this.starts.push(this.pos);
    this.pos++;
  }

  /** Closes the innermost field opened by `begin()`, writing its length before its content. */
  end(): void {
    const start = this.starts.pop()!;
    const len = this.pos - start - 1;
    if (len < 128) {
      this.buf[start] = len;
      return;
    }
    let extra = 0;
    for (let l = len; l > 127; l = Math.floor(l / 128)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + 1 + extra, start + 1, this.pos);
    const after = this.pos + extra;
    this.pos = start;
    this.varint(len);
    this.pos = after;
  }

  uint(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** An int64 field (two's complement for negative values). */
  int64(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return this.varint(v);
    let u = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (u > 127n) {
      this.buf[this.pos++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  bool(field: number, v: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v ? 1 : 0);
  }

  double(field: number, v: number): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  fixed32(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
  }

  fixed64(field: number, v: bigint): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64LE(v, this.pos);
  }

  /** A fixed64 nanosecond timestamp from an OpenTelemetry HrTime ([seconds, nanoseconds]). */
  hrTime(field: number, t: readonly [number, number]): void {
    this.fixed64(field, BigInt(Math.trunc(t[0])) * NANOS_PER_SECOND + BigInt(Math.trunc(t[1])));
  }

  /**
   * A fixed64 nanosecond timestamp from epoch milliseconds. Nanoseconds exceed 2^53, so the two
   * 32-bit halves are computed from exact partial products (a BigInt per timestamp cost more).
   */
  epochMs(field: number, ms: number): void {
    const seconds = Math.floor(ms / 1000);
    const nanos = Math.round((ms - seconds * 1000) * 1e6);
    // seconds * 1e9 + nanos = high16 * 1e9 * 2^16 + (low16 * 1e9 + nanos), each product below 2^53.
    const high = Math.floor(seconds / 65536) * 1e9;
    const low = (seconds % 65536) * 1e9 + nanos;
    let lo = (high % 65536) * 65536 + (low % 4294967296);
    const hi = Math.floor(high / 65536) + Math.floor(low / 4294967296) + Math.floor(lo / 4294967296);
    lo %= 4294967296;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi, this.pos + 4);
    this.pos += 8;
  }

  string(field: number, s: string | undefined): void {
    if (s === undefined || s === '') return;
    this.tag(field, WIRE_LD);
    this.ensure(5 + s.length * 3);
    const start = this.pos;
    // Short ASCII strings (attribute keys, ids, routes) are copied here: a native write costs more.
    if (s.length < 128 && this.asciiAt(s, start + 1)) {
      this.buf[start] = s.length;
      this.pos = start + 1 + s.length;
      return;
    }
    // Reserve one length byte and move the text only when its length needs more.
    const written = this.buf.write(s, start + 1, 'utf8');
    if (written < 128) {
      this.buf[start] = written;
      this.pos = start + 1 + written;
      return;
    }
    let size = 1;
    for (let l = written; l > 127; l = Math.floor(l / 128)) size++;
    this.buf.copyWithin(start + size, start + 1, start + 1 + written);
    this.pos = start;
    this.varint(written);
    this.pos += written;
  }

  /** Copies `s` to `at` when it is all ASCII; false (and nothing meaningful written) otherwise. */
  private asciiAt(s: string, at: number): boolean {
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) return false;
      buf[at + i] = c;
    }
    return true;
  }

  /** A bytes field from lowercase hex (trace and span ids). */
  hexBytes(field: number, hex: string | undefined): void {
    if (hex === undefined || hex === '') return;
    const n = hex.length >> 1;
    this.tag(field, WIRE_LD);
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[this.pos + i] = (HEX[hex.charCodeAt(2 * i)]! << 4) | HEX[hex.charCodeAt(2 * i + 1)]!;
    this.pos += n;
  }

  /** Bytes that are already encoded fields (messages written by another writer). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LD);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Repeated KeyValue `field` from an attribute map, in key order, as the OTLP transformer writes them. */
  attributes(field: number, attrs: Readonly<Record<string, AnyValueInput>>): void {
    for (const key in attrs) this.keyValue(field, key, attrs[key]);
  }

  /** One KeyValue message as `field`. */
  keyValue(field: number, key: string, value: AnyValueInput): void {
    this.begin(field);
    this.string(1, key);
    this.begin(2);
    this.anyValueBody(value);
    this.end();
    this.end();
  }

  /** An AnyValue message as `field`. */
  anyValue(field: number, v: AnyValueInput): void {
    this.begin(field);
    this.anyValueBody(v);
    this.end();
  }

  private anyValueBody(v: AnyValueInput): void {
    if (typeof v === 'string') {
      // An empty string is still a set string_value (the oneof case matters): write it explicitly.
      if (v === '') {
        this.tag(1, WIRE_LD);
        this.varint(0);
      } else this.string(1, v);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT) this.int64(3, v);
      else this.double(4, v);
    } else if (typeof v === 'boolean') this.bool(2, v);
    else if (v instanceof Uint8Array) this.bytes(7, v);
    else if (Array.isArray(v)) {
      this.begin(5);
      for (const item of v) this.anyValue(1, item);
      this.end();
    } else if (typeof v === 'object' && v !== null) {
      this.begin(6);
      this.attributes(1, v);
      this.end();
    }
  }
}
