/**
 * Bit-granular writer and reader over a Uint8Array, most significant bit first (the layout of
 * Prometheus's bstream). Values wider than 32 bits are passed as two unsigned 32-bit halves so the
 * hot path stays in small-integer arithmetic, never BigInt.
 */
import type { BytePool } from './byte-pool.js';

const EMPTY = new Uint8Array(0);

/** Appends bits to a growable byte buffer. `bytes` is valid up to `byteLength()`. */
export class BitWriter {
  bytes: Uint8Array;
  /** Number of bits written. */
  bitLength: number;
  /** Where buffers come from and go back to when outgrown; null for plain ArrayBuffers. */
  private readonly pool: BytePool | null;

  constructor(initialBytes = 32, pool: BytePool | null = null) {
    this.pool = pool;
    this.bytes = pool === null ? new Uint8Array(initialBytes) : pool.alloc(initialBytes);
    this.bitLength = 0;
  }

  /** Resumes writing after `bitLength` bits of existing content (the array is taken over, not copied). */
  static resume(bytes: Uint8Array, bitLength: number, pool: BytePool | null = null): BitWriter {
    const w = new BitWriter(0, pool);
    w.bytes = bytes;
    w.bitLength = bitLength;
    return w;
  }

  byteLength(): number {
    return (this.bitLength + 7) >>> 3;
  }

  private ensure(extraBits: number): void {
    const need = (this.bitLength + extraBits + 7) >>> 3;
    if (need <= this.bytes.length) return;
    const size = Math.max(need, this.bytes.length * 2, 16);
    const grown = this.pool === null ? new Uint8Array(size) : this.pool.alloc(size);
    grown.set(this.bytes.subarray(0, this.byteLength()));
    this.pool?.release(this.bytes);
    this.bytes = grown;
  }

  /** Gives the buffer back to the pool; the writer must not be used afterwards. */
  release(): void {
    this.pool?.release(this.bytes);
    this.bytes = EMPTY;
    this.bitLength = 0;
  }

  writeBit(bit: number): void {
    this.ensure(1);
    const pos = this.bitLength;
    if (bit !== 0) this.bytes[pos >>> 3]! |= 0x80 >>> (pos & 7);
    this.bitLength = pos + 1;
  }

  /** Writes the low `n` bits (0..32) of `value`, most significant first. */
  writeBits(value: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    const bytes = this.bytes;
    let pos = this.bitLength;
    let left = n;
    while (left > 0) {
      const free = 8 - (pos & 7);
      const take = free < left ? free : left;
      const chunk = (value >>> (left - take)) & ((1 << take) - 1);
      bytes[pos >>> 3]! |= chunk << (free - take);
      pos += take;
      left -= take;
    }
    this.bitLength = pos;
  }

  /** Writes the low `n` bits (0..64) of the 64-bit value hi:lo. */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, n);
    }
  }

  /** Writes an unsigned byte-aligned-free varint of a non-negative integer up to 2^53. */
  writeUvarint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.writeBits((v % 0x80) | 0x80, 8);
      v = Math.floor(v / 0x80);
    }
    this.writeBits(v, 8);
  }

  /** Writes a zigzag-encoded signed integer (|value| < 2^52). */
  writeVarint(value: number): void {
    this.writeUvarint(value < 0 ? -2 * value - 1 : 2 * value);
  }
}

/** Reads bits written by BitWriter. Reading past `bitLimit` throws a RangeError. */
export class BitReader {
  private bytes: Uint8Array;
  private pos: number;
  private bitLimit: number;
  /** High half of the last `readBits64` result. */
  hi: number;
  /** Low half of the last `readBits64` result. */
  lo: number;

  constructor(bytes: Uint8Array, bitOffset = 0, bitLimit = bytes.length * 8) {
    this.bytes = bytes;
    this.pos = bitOffset;
    this.bitLimit = bitLimit;
    this.hi = 0;
    this.lo = 0;
  }

  reset(bytes: Uint8Array, bitOffset: number, bitLimit: number): void {
    this.bytes = bytes;
    this.pos = bitOffset;
    this.bitLimit = bitLimit;
  }

  private check(n: number): void {
    if (this.pos + n > this.bitLimit) throw new RangeError('chunk data truncated');
  }

  readBit(): number {
    this.check(1);
    const pos = this.pos;
    this.pos = pos + 1;
    return (this.bytes[pos >>> 3]! >>> (7 - (pos & 7))) & 1;
  }

  /** Reads `n` bits (0..32) as an unsigned number. */
  readBits(n: number): number {
    if (n === 0) return 0;
    this.check(n);
    const bytes = this.bytes;
    let pos = this.pos;
    let left = n;
    let out = 0;
    while (left > 0) {
      const avail = 8 - (pos & 7);
      const take = avail < left ? avail : left;
      const chunk = (bytes[pos >>> 3]! >>> (avail - take)) & ((1 << take) - 1);
      out = out * (1 << take) + chunk;
      pos += take;
      left -= take;
    }
    this.pos = pos;
    return out >>> 0;
  }

  /** Reads `n` bits (0..64) into `hi`/`lo`. */
  readBits64(n: number): void {
    if (n > 32) {
      this.hi = this.readBits(n - 32);
      this.lo = this.readBits(32);
    } else {
      this.hi = 0;
      this.lo = this.readBits(n);
    }
  }

  readUvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.readBits(8);
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    throw new RangeError('varint too long');
  }

  readVarint(): number {
    const u = this.readUvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
}
