/**
 * A minimal protobuf writer for the small responses the receivers send (OTLP partial success,
 * google.rpc.Status). Fields are appended in order; nested messages are written from their
 * already-encoded bytes.
 */
import { WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './proto-reader.js';

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

  finish(): Buffer {
    return Buffer.from(this.parts);
  }
}
