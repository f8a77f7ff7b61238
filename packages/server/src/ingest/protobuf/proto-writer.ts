/**
 * A minimal protobuf writer for the small responses the receivers send (OTLP partial success,
 * google.rpc.Status). Fields are appended in order; nested messages are written from their
 * already-encoded bytes.
 */
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './proto-reader.js';

export class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(n: number): void {
    // Non-negative integers up to 2^53; negative int32/int64 are written as 10-byte two's complement.
    if (n < 0) {
      let v = BigInt.asUintN(64, BigInt(n));
      while (v >= 0x80n) {
        this.parts.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.parts.push(Number(v));
      return;
    }
    while (n >= 0x80) {
      this.parts.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.parts.push(n);
  }

  /** A varint field (int32, int64, uint, bool, enum); zero values are omitted as proto3 does. */
  int(field: number, value: number): this {
    if (value === 0) return this;
    this.varint((field << 3) | WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** A string field; empty strings are omitted as proto3 does. */
  string(field: number, value: string): this {
    if (value === '') return this;
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** A length-delimited field holding `bytes` (e.g. an encoded nested message). */
  bytes(field: number, bytes: Uint8Array): this {
    this.varint((field << 3) | WIRE_LENGTH_DELIMITED);
    this.varint(bytes.length);
    for (const b of bytes) this.parts.push(b);
    return this;
  }

  /** A fixed32 field (zero omitted). */
  fixed32(field: number, value: number): this {
    if (value === 0) return this;
    this.varint((field << 3) | WIRE_FIXED32);
    for (let i = 0; i < 4; i++) this.parts.push((value >>> (8 * i)) & 0xff);
    return this;
  }

  /** A fixed64 field from an unsigned bigint, e.g. nanosecond timestamps (zero omitted). */
  fixed64(field: number, value: bigint): this {
    if (value === 0n) return this;
    this.varint((field << 3) | WIRE_FIXED64);
    const v = BigInt.asUintN(64, value);
    for (let i = 0n; i < 64n; i += 8n) this.parts.push(Number((v >> i) & 0xffn));
    return this;
  }

  /** A double field, always written (a oneof member must be present even when zero). */
  double(field: number, value: number): this {
    this.varint((field << 3) | WIRE_FIXED64);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    for (const x of b) this.parts.push(x);
    return this;
  }

  /** An int64 varint field from a bigint, always written (for oneof members). */
  int64(field: number, value: bigint): this {
    this.varint((field << 3) | WIRE_VARINT);
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.parts);
  }
}
