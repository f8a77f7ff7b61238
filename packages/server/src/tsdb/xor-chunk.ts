/**
 * Gorilla (XOR) chunks as in Prometheus's chunkenc: a 2-byte big-endian sample count, then
 * delta-of-delta timestamps and XOR-compressed float64 values in a bit stream. Values are handled
 * as raw 64-bit patterns, so every NaN payload (including the staleness marker) round-trips exactly.
 */
import { BitReader, BitWriter } from './bit-stream.js';

/** Samples per chunk before a new one is cut (Prometheus's target). */
export const SAMPLES_PER_CHUNK = 120;

const HEADER_BITS = 16;
const TWO_32 = 0x1_0000_0000;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const scratchT = new Float64Array(1);
/** Index of the low 32-bit word of a float64 in a Uint32Array view (platform endianness). */
export const LO_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
/** Index of the high 32-bit word of a float64 in a Uint32Array view. */
export const HI_WORD = 1 - LO_WORD;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** What an appender must remember besides the bytes to continue a chunk. */
export interface XorEncoderState {
  readonly bitLength: number;
  readonly tDelta: number;
  readonly hi: number;
  readonly lo: number;
  readonly leading: number;
  readonly trailing: number;
}

/** Appends samples to one chunk, keeping the encoder state so appends continue where they stopped. */
export class XorAppender {
  private w: BitWriter;
  count: number;
  minT: number;
  maxT: number;
  private tDelta: number;
  private hi: number;
  private lo: number;
  private leading: number;
  private trailing: number;

  constructor(initialBytes = 64) {
    this.w = new BitWriter(initialBytes);
    this.w.bitLength = HEADER_BITS;
    this.count = 0;
    this.minT = 0;
    this.maxT = 0;
    this.tDelta = 0;
    this.hi = 0;
    this.lo = 0;
    this.leading = 0xff;
    this.trailing = 0;
  }

  /** The encoder state needed to continue appending after a restart (see `restore`). */
  state(): XorEncoderState {
    return { bitLength: this.w.bitLength, tDelta: this.tDelta, hi: this.hi, lo: this.lo, leading: this.leading, trailing: this.trailing };
  }

  /**
   * Continues an encoded chunk (restored from a checkpoint) from its saved encoder state, without
   * decoding it. The bytes are copied. Throws RangeError when the state does not fit the bytes.
   */
  static restore(bytes: Uint8Array, minT: number, maxT: number, state: XorEncoderState): XorAppender {
    if (state.bitLength > bytes.length * 8 || state.bitLength <= bytes.length * 8 - 8 || bytes.length < 2) {
      throw new RangeError('chunk encoder state does not match the chunk');
    }
    const a = new XorAppender(0);
    const buf = new Uint8Array(Math.max(bytes.length * 2, 64));
    buf.set(bytes);
    a.w = BitWriter.resume(buf, state.bitLength);
    a.count = chunkSampleCount(bytes);
    a.minT = minT;
    a.maxT = maxT;
    a.tDelta = state.tDelta;
    a.hi = state.hi;
    a.lo = state.lo;
    a.leading = state.leading;
    a.trailing = state.trailing;
    return a;
  }

  /** High word of the newest value's bits. */
  get lastHi(): number {
    return this.hi;
  }

  /** Low word of the newest value's bits. */
  get lastLo(): number {
    return this.lo;
  }

  append(t: number, v: number): void {
    f64[0] = v;
    scratchT[0] = t;
    this.appendAt(scratchT, u32, 0);
  }

  /**
   * Appends sample `i` of the arrays: time `ts[i]`, value bits at `bits[2i..2i+1]`. Taking
   * arrays rather than numbers keeps timestamps (beyond small-integer range) from being boxed
   * on every call in the hot path.
   */
  appendAt(ts: Float64Array, bits: Uint32Array, i: number): void {
    const t = ts[i]!;
    const hi = bits[2 * i + HI_WORD]!;
    const lo = bits[2 * i + LO_WORD]!;
    const w = this.w;
    const n = this.count;
    if (n === 0) {
      w.writeVarint(t);
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
      this.minT = t;
    } else if (n === 1) {
      const delta = t - this.maxT;
      w.writeVarint(delta);
      this.tDelta = delta;
      this.writeValue(hi, lo);
    } else {
      const delta = t - this.maxT;
      const dod = delta - this.tDelta;
      if (dod === 0) {
        w.writeBit(0);
      } else if (dod >= -8191 && dod <= 8192) {
        w.writeBits(0b10, 2);
        w.writeBits(dod & 0x3fff, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        w.writeBits(0b110, 3);
        w.writeBits(dod & 0x1ffff, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod & 0xfffff, 20);
      } else {
        w.writeBits(0b1111, 4);
        const dhi = Math.floor(dod / TWO_32);
        w.writeBits(dhi, 32);
        w.writeBits(dod - dhi * TWO_32, 32);
      }
      this.tDelta = delta;
      this.writeValue(hi, lo);
    }
    this.maxT = t;
    this.hi = hi;
    this.lo = lo;
    this.count = n + 1;
    const bytes = w.bytes;
    bytes[0] = (n + 1) >>> 8;
    bytes[1] = (n + 1) & 0xff;
  }

  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const dh = (hi ^ this.hi) >>> 0;
    const dl = (lo ^ this.lo) >>> 0;
    if (dh === 0 && dl === 0) {
      w.writeBit(0);
      return;
    }
    w.writeBit(1);
    let leading = dh !== 0 ? Math.clz32(dh) : 32 + Math.clz32(dl);
    const trailing = dl !== 0 ? ctz32(dl) : 32 + ctz32(dh);
    if (leading >= 32) leading = 31;
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      w.writeBit(0);
      writeShifted(w, dh, dl, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sig = 64 - leading - trailing;
    w.writeBit(1);
    w.writeBits(leading, 5);
    w.writeBits(sig & 63, 6);
    writeShifted(w, dh, dl, trailing, sig);
  }

  /** A view of the encoded bytes so far (valid until the next append). */
  view(): Uint8Array {
    return this.w.bytes.subarray(0, this.w.byteLength());
  }

  /** An exact-size copy of the encoded chunk. */
  finish(): Uint8Array {
    return this.w.bytes.slice(0, this.w.byteLength());
  }
}

/** Writes `sig` bits of (hi:lo) >>> shift. */
function writeShifted(w: BitWriter, hi: number, lo: number, shift: number, sig: number): void {
  let sh: number;
  let sl: number;
  if (shift === 0) {
    sh = hi;
    sl = lo;
  } else if (shift >= 32) {
    sh = 0;
    sl = hi >>> (shift - 32);
  } else {
    sh = hi >>> shift;
    sl = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
  }
  w.writeBits64(sh, sl, sig);
}

/** Iterates a chunk's samples; reusable across chunks via `reset`. */
class XorDecoder {
  private readonly r: BitReader;
  private remaining: number;
  private index: number;
  t: number;
  tDelta: number;
  hi: number;
  lo: number;
  leading: number;
  trailing: number;

  constructor() {
    this.r = new BitReader(new Uint8Array(0));
    this.remaining = 0;
    this.index = 0;
    this.t = 0;
    this.tDelta = 0;
    this.hi = 0;
    this.lo = 0;
    this.leading = 0;
    this.trailing = 0;
  }

  /** Starts decoding `bytes`; throws RangeError when the header is missing. */
  reset(bytes: Uint8Array): void {
    if (bytes.length < 2) throw new RangeError('chunk shorter than its header');
    this.r.reset(bytes, HEADER_BITS, bytes.length * 8);
    this.remaining = (bytes[0]! << 8) | bytes[1]!;
    this.index = 0;
    this.t = 0;
    this.tDelta = 0;
    this.leading = 0;
    this.trailing = 0;
  }

  get total(): number {
    return this.index + this.remaining;
  }

  /** Decodes the next sample into `t`, `hi`, `lo`; false at the end. Throws RangeError on truncated data. */
  next(): boolean {
    if (this.remaining === 0) return false;
    const r = this.r;
    const i = this.index;
    if (i === 0) {
      this.t = r.readVarint();
      this.hi = r.readBits(32);
      this.lo = r.readBits(32);
    } else if (i === 1) {
      this.tDelta = r.readVarint();
      this.t += this.tDelta;
      this.readValue();
    } else {
      let d = 0;
      while (d < 4 && r.readBit() === 1) d++;
      let dod = 0;
      if (d === 1) dod = signExtend(r.readBits(14), 14);
      else if (d === 2) dod = signExtend(r.readBits(17), 17);
      else if (d === 3) dod = signExtend(r.readBits(20), 20);
      else if (d === 4) {
        const dhi = r.readBits(32) | 0;
        dod = dhi * TWO_32 + r.readBits(32);
      }
      this.tDelta += dod;
      this.t += this.tDelta;
      this.readValue();
    }
    this.index = i + 1;
    this.remaining--;
    return true;
  }

  private readValue(): void {
    const r = this.r;
    if (r.readBit() === 0) return;
    if (r.readBit() === 1) {
      this.leading = r.readBits(5);
      let sig = r.readBits(6);
      if (sig === 0) sig = 64;
      this.trailing = 64 - this.leading - sig;
    }
    const sig = 64 - this.leading - this.trailing;
    if (sig <= 0 || this.trailing < 0) throw new RangeError('corrupt chunk value encoding');
    r.readBits64(sig);
    const shift = this.trailing;
    let dh = r.hi;
    let dl = r.lo;
    if (shift >= 32) {
      dh = dl << (shift - 32);
      dl = 0;
    } else if (shift > 0) {
      dh = (dh << shift) | (dl >>> (32 - shift));
      dl = dl << shift;
    }
    this.hi = (this.hi ^ dh) >>> 0;
    this.lo = (this.lo ^ dl) >>> 0;
  }
}

function signExtend(bits: number, size: number): number {
  return bits > 1 << (size - 1) ? bits - (1 << size) : bits;
}

const sharedDecoder = new XorDecoder();

/** Number of samples in an encoded chunk (from its header). */
export function chunkSampleCount(bytes: Uint8Array): number {
  return bytes.length < 2 ? 0 : (bytes[0]! << 8) | bytes[1]!;
}

/**
 * Decodes every sample of a chunk into `outT`/`outV` starting at `offset`, copying value bits
 * exactly. The arrays must have room for `chunkSampleCount(bytes)` more samples. Returns the
 * number decoded; throws RangeError when the chunk is corrupt.
 */
export function decodeXorChunk(bytes: Uint8Array, outT: Float64Array, outV: Float64Array, offset: number): number {
  const dec = sharedDecoder;
  dec.reset(bytes);
  const n = dec.total;
  if (offset + n > outT.length || offset + n > outV.length) throw new RangeError('output arrays too small for chunk');
  const bits = new Uint32Array(outV.buffer, outV.byteOffset + offset * 8, n * 2);
  let i = 0;
  while (dec.next()) {
    outT[offset + i] = dec.t;
    bits[2 * i + HI_WORD] = dec.hi;
    bits[2 * i + LO_WORD] = dec.lo;
    i++;
  }
  return n;
}
