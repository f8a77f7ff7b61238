import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hex64, int64Literal, isBinarySpanId, traceIdOf, writeHexId } from './hex-id-columns.js';

describe('hex id columns', () => {
  it('round-trips random trace and span ids through the 64-bit columns', () => {
    const hi = new BigInt64Array(1);
    const lo = new BigInt64Array(1);
    const span = new BigInt64Array(1);
    for (let i = 0; i < 200; i++) {
      const trace = randomBytes(16).toString('hex');
      const spanId = randomBytes(8).toString('hex');
      expect(writeHexId(trace, 4, 0, new Uint32Array(hi.buffer), new Uint32Array(lo.buffer))).toBe(true);
      expect(writeHexId(spanId, 2, 0, new Uint32Array(span.buffer), null)).toBe(true);
      expect(traceIdOf(null, hi[0], lo[0])).toBe(trace);
      expect(hex64(span[0])).toBe(spanId);
      expect(int64Literal(spanId)).toBe(String(span[0]));
    }
  });

  it('leaves other forms to the text columns', () => {
    const words = new Uint32Array(4);
    for (const text of ['', '0000000000000000', 'ABCDEF0123456789', '123456789', 'abcdef012345678g', 'abcdef01234567890']) {
      expect(writeHexId(text, 2, 0, words, null)).toBe(false);
      expect(isBinarySpanId(text)).toBe(false);
    }
    expect(Array.from(words)).toEqual([0, 0, 0, 0]);
    expect(traceIdOf('custom-trace', null, null)).toBe('custom-trace');
    expect(traceIdOf(null, null, null)).toBe('');
  });
});
