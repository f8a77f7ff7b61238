/**
 * Chunks of samples, after Prometheus's Gorilla (XOR) chunks: a 1-byte sample count, then the
 * first value, delta-of-delta timestamps and compressed float64 values in a bit stream. The first sample's
 * time is not in the bytes: it is the chunk's minT, which every holder of a chunk keeps beside it.
 * Values are handled as raw 64-bit patterns, so every NaN payload (including the staleness
 * marker) round-trips exactly.
 *
 * Three more changes from Prometheus's format, for real exporters' data: an unchanged sample
 * (same timestamp delta, same value) takes one bit, not two; the smallest timestamp bucket holds
 * a delta-of-delta of up to ±64 ms in 7 bits (a late scrape costs 10 bits, not 16); and a value
 * may be written as the delta-of-delta of its decimal mantissa instead of XORed bits (the first
 * value as `0` + 4-bit scale + varint mantissa when it is decimal, else `1` + its 64 bits).
 * Counters of events, bytes or centiseconds and gauges with a few decimals are decimal numbers
 * whose bit patterns XOR poorly (0.01 has no exact binary form), but whose scaled integers
 * (value x 10^scale) grow steadily. The encoder writes each value in whichever form is shorter.
 *
 * From the third sample on, `0` means "timestamp delta and value bits as before" (idle series and
 * regular scrapes: one bit a sample), `10` + changed value "timestamp delta as before", `11` +
 * timestamp dod + value a new timestamp delta. A value is `0` (same bits) or `1` + changed value;
 * a changed value is `0` + decimal dod bucket or `1` + XOR body.
 * Decimal state (both sides derive it from the values alone): the chunk has a decimal scale when
 * its first value is m / 10^scale for an integer |m| <= 2^50 and scale <= 9 (durations in ns
 * are decimal at scale 9); the scale grows when a later value needs more decimals; `mPrev` and
 * `dPrev` are the previous mantissa and its delta (mPrev is NaN after a value that is not
 * decimal at any allowed scale).
 */
import { BitReader, BitWriter } from './bit-stream.js';
import type { BytePool } from './byte-pool.js';

/** Samples per chunk before a new one is cut (Prometheus's target). */
export const SAMPLES_PER_CHUNK = 120;

const HEADER_BITS = 8;
/** Most samples a chunk can hold (its count is one byte). */
export const MAX_CHUNK_SAMPLES = 255;
const TWO_32 = 0x1_0000_0000;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const scratchT = new Float64Array(1);
/** Index of the low 32-bit word of a float64 in a Uint32Array view (platform endianness). */
export const LO_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
/** Index of the high 32-bit word of a float64 in a Uint32Array view. */
export const HI_WORD = 1 - LO_WORD;

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const MAX_SCALE = POW10.length - 1;
/** Largest decimal mantissa: small enough that m / 10^s * 10^s rounds back to m. */
const MAX_MANTISSA = 2 ** 50;
/** No decimal scale (the chunk's first value was not decimal). */
const NO_SCALE = -1;

/** The value with bits hi:lo as a number. */
function valueOf(hi: number, lo: number): number {
  u32[HI_WORD] = hi;
  u32[LO_WORD] = lo;
  return f64[0]!;
}

/**
 * The mantissa m with m / 10^scale bit-identical to the value hi:lo (`v`), or NaN when there is
 * none within MAX_MANTISSA (NaN, infinities, -0, and values with more decimals than `scale`).
 */
function mantissaAt(v: number, hi: number, lo: number, scale: number): number {
  // `+ 0` turns -0 into +0, so -0 (which no mantissa reproduces) is refused below.
  const m = (scale === 0 ? Math.round(v) : Math.round(v * POW10[scale]!)) + 0;
  if (!(m <= MAX_MANTISSA && m >= -MAX_MANTISSA)) return NaN;
  f64[0] = scale === 0 ? m : m / POW10[scale]!;
  return u32[HI_WORD] === hi && u32[LO_WORD] === lo ? m : NaN;
}

/** The smallest scale in [from, MAX_SCALE] at which the value is decimal, or NO_SCALE. */
function scaleOf(v: number, hi: number, lo: number, from: number): number {
  for (let s = from; s <= MAX_SCALE; s++) if (!Number.isNaN(mantissaAt(v, hi, lo, s))) return s;
  return NO_SCALE;
}

/** Bits a decimal delta-of-delta takes after its `0` flag, or 0 when it fits no bucket. */
function decimalBits(dod: number): number {
  if (dod === 0) return 1;
  if (dod >= -15 && dod <= 16) return 7;
  if (dod >= -511 && dod <= 512) return 13;
  if (dod >= -32767 && dod <= 32768) return 20;
  if (dod >= -2097151 && dod <= 2097152) return 27;
  if (dod >= -2147483647 && dod <= 2147483648) return 37;
  return 0;
}

/**
 * Decimal state shared by encoder and decoder; `update` is called with every value after the
 * first, whatever form it was written in, so both sides stay in step.
 */
class DecimalState {
  scale = NO_SCALE;
  mPrev = NaN;
  dPrev = 0;

  start(v: number, hi: number, lo: number): void {
    this.scale = scaleOf(v, hi, lo, 0);
    this.mPrev = this.scale === NO_SCALE ? NaN : mantissaAt(v, hi, lo, this.scale);
    this.dPrev = 0;
  }

  /** Moves to a next value with the same bits as the previous one. */
  repeat(): void {
    if (!Number.isNaN(this.mPrev)) this.dPrev = 0;
  }

  /** Moves to the next value, whose mantissa at the current scale is `m` (NaN when it has none). */
  update(v: number, hi: number, lo: number, m: number): void {
    if (this.scale === NO_SCALE) return;
    if (!Number.isNaN(m)) {
      this.dPrev = Number.isNaN(this.mPrev) ? 0 : m - this.mPrev;
      this.mPrev = m;
      return;
    }
    const s = scaleOf(v, hi, lo, this.scale + 1);
    if (s === NO_SCALE) {
      this.mPrev = NaN;
      return;
    }
    const factor = POW10[s - this.scale]!;
    const mNew = mantissaAt(v, hi, lo, s);
    const rescaled = this.mPrev * factor;
    this.dPrev = Number.isNaN(rescaled) || Math.abs(rescaled) > MAX_MANTISSA ? 0 : mNew - rescaled;
    this.mPrev = mNew;
    this.scale = s;
  }
}

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
  /** Decimal scale, -1 when the chunk has none. */
  readonly scale: number;
  /** Previous decimal mantissa (NaN when the previous value had none) and its delta. */
  readonly mPrev: number;
  readonly dPrev: number;
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
  private readonly decimal: DecimalState;

  /** `pool`: where the chunk's buffer comes from (head chunks); `release()` hands it back. */
  constructor(initialBytes = 64, pool: BytePool | null = null) {
    this.w = new BitWriter(initialBytes, pool);
    this.w.bitLength = HEADER_BITS;
    this.count = 0;
    this.minT = 0;
    this.maxT = 0;
    this.tDelta = 0;
    this.hi = 0;
    this.lo = 0;
    this.leading = 0xff;
    this.trailing = 0;
    this.decimal = new DecimalState();
  }

  /** The encoder state needed to continue appending after a restart (see `restore`). */
  state(): XorEncoderState {
    const d = this.decimal;
    return {
      bitLength: this.w.bitLength,
      tDelta: this.tDelta,
      hi: this.hi,
      lo: this.lo,
      leading: this.leading,
      trailing: this.trailing,
      scale: d.scale,
      mPrev: d.mPrev,
      dPrev: d.dPrev,
    };
  }

  /**
   * Continues an encoded chunk (restored from a checkpoint) from its saved encoder state, without
   * decoding it. The bytes are copied. Throws RangeError when the state does not fit the bytes.
   */
  static restore(bytes: Uint8Array, minT: number, maxT: number, state: XorEncoderState): XorAppender {
    const badScale = !Number.isInteger(state.scale) || state.scale < NO_SCALE || state.scale > MAX_SCALE;
    if (state.bitLength > bytes.length * 8 || state.bitLength <= bytes.length * 8 - 8 || bytes.length < 2 || badScale) {
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
    a.decimal.scale = state.scale;
    a.decimal.mPrev = state.mPrev;
    a.decimal.dPrev = state.dPrev;
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
    if (n === MAX_CHUNK_SAMPLES) throw new RangeError(`a chunk holds at most ${MAX_CHUNK_SAMPLES} samples`);
    if (n === 0) {
      // The first timestamp is not stored: every chunk's minT is kept beside it (index, head, checkpoint).
      const d = this.decimal;
      d.start(valueOf(hi, lo), hi, lo);
      if (d.scale === NO_SCALE) {
        w.writeBit(1);
        w.writeBits(hi, 32);
        w.writeBits(lo, 32);
      } else {
        w.writeBit(0);
        w.writeBits(d.scale, 4);
        w.writeVarint(d.mPrev);
      }
      this.minT = t;
    } else if (n === 1) {
      const delta = t - this.maxT;
      w.writeVarint(delta);
      this.tDelta = delta;
      this.writeValue(hi, lo);
    } else {
      const delta = t - this.maxT;
      const dod = delta - this.tDelta;
      if (dod !== 0) {
        w.writeBits(0b11, 2);
        writeTimeDod(w, dod);
        this.writeValue(hi, lo);
      } else if (hi === this.hi && lo === this.lo) {
        w.writeBit(0);
        this.decimal.repeat();
      } else {
        w.writeBits(0b10, 2);
        this.writeChangedValue(hi, lo);
      }
      this.tDelta = delta;
    }
    this.maxT = t;
    this.hi = hi;
    this.lo = lo;
    this.count = n + 1;
    const bytes = w.bytes;
    bytes[0] = n + 1;
  }

  private writeValue(hi: number, lo: number): void {
    if (hi === this.hi && lo === this.lo) {
      this.w.writeBit(0);
      this.decimal.repeat();
      return;
    }
    this.w.writeBit(1);
    this.writeChangedValue(hi, lo);
  }

  /** Writes a value whose bits differ from the previous one: `0` + decimal dod or `1` + XOR body. */
  private writeChangedValue(hi: number, lo: number): void {
    const w = this.w;
    const d = this.decimal;
    const dh = (hi ^ this.hi) >>> 0;
    const dl = (lo ^ this.lo) >>> 0;
    let leading = dh !== 0 ? Math.clz32(dh) : 32 + Math.clz32(dl);
    const trailing = dl !== 0 ? ctz32(dl) : 32 + ctz32(dh);
    if (leading >= 32) leading = 31;
    const reuse = this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing;
    const xorBits = reuse ? 1 + 64 - this.leading - this.trailing : 12 + 64 - leading - trailing;
    let m = NaN;
    const v = d.scale === NO_SCALE ? 0 : valueOf(hi, lo);
    if (d.scale !== NO_SCALE) {
      m = mantissaAt(v, hi, lo, d.scale);
      if (!Number.isNaN(m) && !Number.isNaN(d.mPrev)) {
        const dod = m - d.mPrev - d.dPrev;
        const bits = decimalBits(dod);
        if (bits !== 0 && bits <= xorBits) {
          w.writeBit(0);
          writeDecimalDod(w, dod);
          d.update(v, hi, lo, m);
          return;
        }
      }
    }
    w.writeBit(1);
    if (reuse) {
      w.writeBit(0);
      writeShifted(w, dh, dl, this.trailing, 64 - this.leading - this.trailing);
    } else {
      this.leading = leading;
      this.trailing = trailing;
      const sig = 64 - leading - trailing;
      w.writeBit(1);
      w.writeBits(leading, 5);
      w.writeBits(sig & 63, 6);
      writeShifted(w, dh, dl, trailing, sig);
    }
    if (d.scale !== NO_SCALE) d.update(v, hi, lo, m);
  }

  /** Gives a pooled buffer back; the appender (and any view of it) must not be used afterwards. */
  release(): void {
    this.w.release();
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

/** Writes a timestamp delta-of-delta (non-zero) in the smallest bucket that holds it. */
function writeTimeDod(w: BitWriter, dod: number): void {
  if (dod >= -63 && dod <= 64) {
    w.writeBit(0);
    w.writeBits(dod & 0x7f, 7);
  } else if (dod >= -8191 && dod <= 8192) {
    w.writeBits(0b10, 2);
    w.writeBits(dod & 0x3fff, 14);
  } else if (dod >= -524287 && dod <= 524288) {
    w.writeBits(0b110, 3);
    w.writeBits(dod & 0xfffff, 20);
  } else {
    w.writeBits(0b111, 3);
    const dhi = Math.floor(dod / TWO_32);
    w.writeBits(dhi, 32);
    w.writeBits(dod - dhi * TWO_32, 32);
  }
}

/** Writes a decimal delta-of-delta that fits a bucket (see decimalBits). */
function writeDecimalDod(w: BitWriter, dod: number): void {
  if (dod === 0) {
    w.writeBit(0);
  } else if (dod >= -15 && dod <= 16) {
    w.writeBits(0b10, 2);
    w.writeBits(dod & 0x1f, 5);
  } else if (dod >= -511 && dod <= 512) {
    w.writeBits(0b110, 3);
    w.writeBits(dod & 0x3ff, 10);
  } else if (dod >= -32767 && dod <= 32768) {
    w.writeBits(0b1110, 4);
    w.writeBits(dod & 0xffff, 16);
  } else if (dod >= -2097151 && dod <= 2097152) {
    w.writeBits(0b11110, 5);
    w.writeBits(dod & 0x3fffff, 22);
  } else {
    w.writeBits(0b11111, 5);
    w.writeBits(dod >>> 0, 32);
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
  private readonly decimal: DecimalState;

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
    this.decimal = new DecimalState();
  }

  /** Starts decoding `bytes`, a chunk whose first sample is at `minT`; throws RangeError when the header is missing. */
  reset(bytes: Uint8Array, minT: number): void {
    if (bytes.length < 2) throw new RangeError('chunk shorter than its header and first value');
    this.r.reset(bytes, HEADER_BITS, bytes.length * 8);
    this.remaining = bytes[0]!;
    this.index = 0;
    this.t = minT;
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
      if (r.readBit() === 1) {
        this.hi = r.readBits(32);
        this.lo = r.readBits(32);
      } else {
        const scale = r.readBits(4);
        const m = r.readVarint();
        if (scale > MAX_SCALE || !(m <= MAX_MANTISSA && m >= -MAX_MANTISSA)) throw new RangeError('corrupt chunk: first value out of range');
        f64[0] = scale === 0 ? m : m / POW10[scale]!;
        this.hi = u32[HI_WORD]!;
        this.lo = u32[LO_WORD]!;
      }
      this.decimal.start(valueOf(this.hi, this.lo), this.hi, this.lo);
    } else if (i === 1) {
      this.tDelta = r.readVarint();
      this.t += this.tDelta;
      this.readValue();
    } else {
      if (r.readBit() === 0) {
        this.t += this.tDelta;
        this.decimal.repeat();
      } else if (r.readBit() === 0) {
        this.t += this.tDelta;
        this.readChangedValue();
      } else {
        let d = 0;
        while (d < 3 && r.readBit() === 1) d++;
        let dod: number;
        if (d === 0) dod = signExtend(r.readBits(7), 7);
        else if (d === 1) dod = signExtend(r.readBits(14), 14);
        else if (d === 2) dod = signExtend(r.readBits(20), 20);
        else {
          const dhi = r.readBits(32) | 0;
          dod = dhi * TWO_32 + r.readBits(32);
        }
        this.tDelta += dod;
        this.t += this.tDelta;
        this.readValue();
      }
    }
    this.index = i + 1;
    this.remaining--;
    return true;
  }

  private readValue(): void {
    if (this.r.readBit() === 0) {
      this.decimal.repeat();
      return;
    }
    this.readChangedValue();
  }

  private readChangedValue(): void {
    const r = this.r;
    const d = this.decimal;
    if (r.readBit() === 0) {
      this.readDecimal();
      return;
    }
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
    const hi = (this.hi ^ dh) >>> 0;
    const lo = (this.lo ^ dl) >>> 0;
    this.hi = hi;
    this.lo = lo;
    if (d.scale !== NO_SCALE) {
      const v = valueOf(hi, lo);
      d.update(v, hi, lo, mantissaAt(v, hi, lo, d.scale));
    }
  }

  private readDecimal(): void {
    const r = this.r;
    const d = this.decimal;
    if (d.scale === NO_SCALE || Number.isNaN(d.mPrev)) throw new RangeError('corrupt chunk: decimal value without a decimal state');
    let bucket = 0;
    while (bucket < 5 && r.readBit() === 1) bucket++;
    let dod = 0;
    if (bucket === 1) dod = signExtend(r.readBits(5), 5);
    else if (bucket === 2) dod = signExtend(r.readBits(10), 10);
    else if (bucket === 3) dod = signExtend(r.readBits(16), 16);
    else if (bucket === 4) dod = signExtend(r.readBits(22), 22);
    else if (bucket === 5) {
      const bits = r.readBits(32);
      dod = bits > 0x8000_0000 ? bits - TWO_32 : bits;
    }
    const m = d.mPrev + d.dPrev + dod;
    if (!(m <= MAX_MANTISSA && m >= -MAX_MANTISSA)) throw new RangeError('corrupt chunk: decimal value out of range');
    f64[0] = d.scale === 0 ? m : m / POW10[d.scale]!;
    const hi = u32[HI_WORD]!;
    const lo = u32[LO_WORD]!;
    this.hi = hi;
    this.lo = lo;
    d.update(f64[0], hi, lo, m);
  }
}

function signExtend(bits: number, size: number): number {
  return bits > 1 << (size - 1) ? bits - (1 << size) : bits;
}

const sharedDecoder = new XorDecoder();

/** Number of samples in an encoded chunk (from its header). */
export function chunkSampleCount(bytes: Uint8Array): number {
  return bytes.length < 2 ? 0 : bytes[0]!;
}

/**
 * Decodes every sample of a chunk whose first sample is at `minT` into `outT`/`outV` starting at
 * `offset`, copying value bits exactly. The arrays must have room for `chunkSampleCount(bytes)`
 * more samples. Returns the number decoded; throws RangeError when the chunk is corrupt.
 */
export function decodeXorChunk(bytes: Uint8Array, minT: number, outT: Float64Array, outV: Float64Array, offset: number): number {
  const dec = sharedDecoder;
  dec.reset(bytes, minT);
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
