import { describe, expect, it } from 'vitest';
import { STALE_NAN } from '../model/samples.js';
import { MAX_CHUNK_SAMPLES, XorAppender, chunkSampleCount, decodeXorChunk } from './xor-chunk.js';

// Plain JS arrays of doubles canonicalise NaN payloads in V8, so bits go through typed arrays only.
const scratchF = new Float64Array(1);
const scratchB = new BigUint64Array(scratchF.buffer);

function bitsOf(v: number): bigint {
  scratchF[0] = v;
  return scratchB[0]!;
}

function fromBits(b: bigint): number {
  scratchB[0] = b;
  return scratchF[0]!;
}

function roundTrip(ts: number[], vs: Float64Array | number[]): { t: Float64Array; v: Float64Array } {
  const a = new XorAppender(8);
  for (let i = 0; i < ts.length; i++) a.append(ts[i]!, vs[i]!);
  const bytes = a.finish();
  expect(chunkSampleCount(bytes)).toBe(ts.length);
  const t = new Float64Array(ts.length + 3);
  const v = new Float64Array(ts.length + 3);
  expect(decodeXorChunk(bytes, a.minT, t, v, 3)).toBe(ts.length);
  return { t: t.subarray(3), v: v.subarray(3) };
}

function expectExact(ts: number[], vs: Float64Array | number[]): void {
  const out = roundTrip(ts, vs);
  for (let i = 0; i < ts.length; i++) {
    expect(out.t[i]).toBe(ts[i]);
    expect(bitsOf(out.v[i]!)).toBe(bitsOf(vs[i]!));
  }
}

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('XOR chunk', () => {
  it('round-trips regular scrapes with counters and gauges', () => {
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 0; i < 120; i++) {
      ts.push(1_700_000_000_000 + i * 15_000 + (i % 7 === 0 ? 3 : 0));
      vs.push(i % 2 === 0 ? i * 10 : Math.sin(i) * 1e3);
    }
    expectExact(ts, vs);
  });

  it('round-trips special values bit-exactly, including the staleness marker', () => {
    const odd = fromBits(0x7ff8000000000001n);
    const payloadNaN = fromBits(0xfff0000000abcdefn);
    const vs = Float64Array.of(0, -0, NaN, STALE_NAN, Infinity, -Infinity, odd, payloadNaN, 5e-324, -Number.MAX_VALUE, STALE_NAN, STALE_NAN, 1, -0, 0);
    const ts = Array.from(vs, (_, i) => 1000 + i * 1000);
    expectExact(ts, vs);
    const out = roundTrip(ts, vs);
    expect(bitsOf(out.v[3]!)).toBe(0x7ff0000000000002n);
  });

  it('round-trips adversarial timestamps: equal, huge jumps, negative deltas, every dod bucket', () => {
    const ts = [
      0, 0, 0, 1, 8193, 8193 + 8193 * 2, -5, 2 ** 40, 2 ** 40 + 1, -(2 ** 45), 2 ** 52, 2 ** 52 - 65_537, 2 ** 52 - 65_537 + 524_289, 7,
      7 + 8192, 7 + 8192 + 16384 - 8191,
    ];
    const vs = ts.map((_, i) => i);
    expectExact(ts, vs);
  });

  it('round-trips random values and timestamps across many seeds', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 200);
      const ts: number[] = [];
      const vs = new Float64Array(n);
      let t = Math.floor(r() * 2 ** 41) - 2 ** 40;
      for (let i = 0; i < n; i++) {
        const kind = r();
        t += kind < 0.6 ? 15_000 : kind < 0.8 ? Math.floor(r() * 100) : kind < 0.95 ? Math.floor(r() * 2 ** 24) : Math.floor(r() * 2 ** 44);
        ts.push(t);
        const vk = r();
        const bits = (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
        vs[i] = vk < 0.3 ? Math.floor(r() * 1000) : vk < 0.5 ? (vs[i - 1] ?? 0) : vk < 0.8 ? fromBits(bits) : r() * 1e6;
      }
      expectExact(ts, vs);
    }
  });

  it('continues appending to a restored chunk exactly where it stopped', () => {
    const a = new XorAppender();
    const ts = [10, 20, 30, 45, 46];
    const vs = Float64Array.of(1.5, 2.5, STALE_NAN, 3, 3);
    for (let i = 0; i < 3; i++) a.append(ts[i]!, vs[i]!);
    const b = XorAppender.restore(a.finish(), a.minT, a.maxT, a.state());
    expect(b.count).toBe(3);
    expect(b.maxT).toBe(30);
    for (let i = 3; i < ts.length; i++) b.append(ts[i]!, vs[i]!);
    const t = new Float64Array(5);
    const v = new Float64Array(5);
    decodeXorChunk(b.finish(), b.minT, t, v, 0);
    expect([...t]).toEqual(ts);
    expect(bitsOf(v[2]!)).toBe(bitsOf(STALE_NAN));
    expect(v[4]).toBe(3);
    expect(() => XorAppender.restore(a.finish(), 10, 30, { ...a.state(), bitLength: 8 })).toThrow(RangeError);
  });

  it('rejects truncated chunks with a RangeError instead of reading garbage', () => {
    const a = new XorAppender();
    for (let i = 0; i < 50; i++) a.append(i * 1000, Math.random());
    const bytes = a.finish();
    const t = new Float64Array(50);
    const v = new Float64Array(50);
    expect(() => decodeXorChunk(bytes.subarray(0, bytes.length >> 1), 0, t, v, 0)).toThrow(RangeError);
    expect(() => decodeXorChunk(bytes.subarray(0, 1), 0, t, v, 0)).toThrow(RangeError);
  });

  it('compresses regular data well', () => {
    const a = new XorAppender();
    for (let i = 0; i < 120; i++) a.append(1_700_000_000_000 + i * 15_000, 1000 + i * 3);
    expect(a.finish().length / 120).toBeLessThan(2);
  });

  it('round-trips decimal values through every delta-of-delta bucket, scale changes and non-decimal values', () => {
    const steps = [0, 3, -15, 16, 17, -511, 512, 600, -32767, 32768, 40_000, -2_097_151, 2_097_152, 3e6, -2_147_483_647, 2_147_483_648, 5e9, 2 ** 49];
    const vs: number[] = [1e6];
    let delta = 0;
    for (const dod of steps) {
      delta += dod;
      vs.push(vs[vs.length - 1]! + delta);
    }
    // Scale grows (1 -> 2 -> 9 decimals), a value with no decimal form, -0, then decimals again.
    vs.push(12.5, 12.25, 12.25, 0.000000001, Math.PI, -0, 0, 7.07, 2 ** 53, -3.5, NaN, 1.1);
    expectExact(
      vs.map((_, i) => 1_000 + i * 60_000),
      vs,
    );
  });

  it('round-trips random decimal series (counters in centiseconds, ns durations, gauges) exactly', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const r = rng(seed);
      const scale = 10 ** Math.floor(r() * 10);
      const n = 2 + Math.floor(r() * 200);
      const vs = new Float64Array(n);
      let acc = Math.floor(r() * 1e9);
      for (let i = 0; i < n; i++) {
        const k = r();
        if (k < 0.5) acc += Math.floor(r() * 10 ** Math.floor(r() * 8));
        else if (k < 0.6) acc -= Math.floor(r() * 1000);
        vs[i] = k < 0.95 ? acc / scale : r();
      }
      expectExact(
        Array.from(vs, (_, i) => i * 15_000),
        vs,
      );
    }
  });

  it('stores decimal counters and idle series compactly', () => {
    const cpu = new XorAppender();
    const idle = new XorAppender();
    let centis = 194_294_830;
    for (let i = 0; i < 120; i++) {
      centis += 4_900 + ((i * 37) % 200);
      cpu.append(1_700_000_000_000 + i * 60_000, centis / 100);
      idle.append(1_700_000_000_000 + i * 60_000, 42);
    }
    // Gorilla XOR needs about 5 bytes a sample for two-decimal counters and 2 bits for idle ones.
    expect(cpu.finish().length / 120).toBeLessThan(2.5);
    expect(idle.finish().length).toBeLessThan(2 + 3 + 3 + 16);
  });

  it('refuses more samples than the one-byte count holds', () => {
    const a = new XorAppender();
    for (let i = 0; i < MAX_CHUNK_SAMPLES; i++) a.append(i, i);
    expect(() => a.append(MAX_CHUNK_SAMPLES, 0)).toThrow(RangeError);
    expect(chunkSampleCount(a.finish())).toBe(MAX_CHUNK_SAMPLES);
  });
});
