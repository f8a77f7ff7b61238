import { describe, expect, it } from 'vitest';
import { STALE_NAN } from '../model/samples.js';
import { ByteReader, ByteWriter } from './byte-buffer.js';
import { decodeChunks, decodeSamples, decodeSeries, encodeChunks, encodeSamples, encodeSeries } from './wal-records.js';
import { XorAppender, chunkSampleCount, decodeXorChunk } from './xor-chunk.js';

describe('WAL records', () => {
  it('round-trips samples with large refs, negative and huge time deltas, and exact value bits', () => {
    const refs = [1, 127, 128, 2 ** 21 + 5, 2 ** 31 - 1];
    const ts = Float64Array.of(1_700_000_000_000, 1_699_999_999_000, 0, -(2 ** 50), 2 ** 52);
    const vs = Float64Array.of(1.5, STALE_NAN, -0, Infinity, NaN);
    const w = new ByteWriter(4);
    encodeSamples(
      w,
      refs.map((ref) => ({ ref })),
      ts,
      new Uint32Array(vs.buffer),
      refs.length,
    );
    const value = new Float64Array(1);
    const valueBits = new BigUint64Array(value.buffer);
    const got: [number, number, bigint][] = [];
    decodeSamples(new ByteReader(Buffer.from(w.view())), value, (ref, t) => got.push([ref, t, valueBits[0]!]));
    const wantBits = new BigUint64Array(vs.buffer);
    expect(got).toEqual(refs.map((ref, i) => [ref, ts[i], wantBits[i]]));
  });

  it('round-trips series with long and non-ASCII label values, and rejects truncated records', () => {
    const series = [
      { ref: 7, labels: [{ name: '__name__', value: 'x'.repeat(300) }, { name: 'emoji', value: 'héllo 🌍' }] },
      { ref: 9, labels: [] },
    ];
    const w = new ByteWriter(4);
    encodeSeries(w, series);
    const got: unknown[] = [];
    decodeSeries(new ByteReader(Buffer.from(w.view())), (ref, labels) => got.push({ ref, labels }));
    expect(got).toEqual(series);
    const cut = Buffer.from(w.view()).subarray(0, w.len - 3);
    expect(() => decodeSeries(new ByteReader(cut), () => undefined)).toThrow(RangeError);
  });

  it('round-trips open chunks through a chunks record and continues them exactly (decimal state included)', () => {
    const cases = [
      [0.5, 1.25, 2.5],
      [3.14, Math.PI],
      [7, 7, -0],
      [NaN],
    ];
    for (const head of cases) {
      const a = new XorAppender();
      head.forEach((v, i) => a.append(1000 * i, v));
      const w = new ByteWriter(4);
      encodeChunks(w, [{ ref: 3, chunks: [{ bytes: a.finish(), minT: a.minT, maxT: a.maxT }], openState: a.state() }]);
      let restored: XorAppender | null = null;
      decodeChunks(new ByteReader(Buffer.from(w.view())), (ref, chunks, state) => {
        expect(ref).toBe(3);
        restored = XorAppender.restore(chunks[0]!.bytes, chunks[0]!.minT, chunks[0]!.maxT, state!);
      });
      const tail = [2.75, 3, 3.125, 1e6];
      tail.forEach((v, i) => restored!.append(1000 * (head.length + i), v));
      const bytes = restored!.finish();
      const t = new Float64Array(chunkSampleCount(bytes));
      const v = new Float64Array(t.length);
      decodeXorChunk(bytes, 0, t, v, 0);
      expect(Array.from(v, (x) => (Object.is(x, -0) ? '-0' : x))).toEqual([...head, ...tail].map((x) => (Object.is(x, -0) ? '-0' : x)));
    }
  });
});
