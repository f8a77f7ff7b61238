/** Timestamps from epoch milliseconds: the exact nanoseconds, beyond 2^53, without BigInt arithmetic. */
import { describe, expect, it } from 'vitest';
import { ProtoWriter } from './proto-writer.js';

describe('ProtoWriter.epochMs', () => {
  it('writes the same fixed64 nanoseconds as BigInt arithmetic', () => {
    const w = new ProtoWriter();
    const times = [0, 999.9999994, 1_700_000_000_123, 1_763_859_058_344.1372, 4_102_444_800_000.5, 2 ** 32 * 1000 + 0.25];
    for (let i = 0; i < 1000; i++) times.push(1.7e12 + i * 86_400_013.7301);
    for (const ms of times) {
      w.reset();
      w.epochMs(1, ms);
      const bytes = Buffer.from(w.finish());
      const seconds = Math.floor(ms / 1000);
      const expected = BigInt(seconds) * 1_000_000_000n + BigInt(Math.round((ms - seconds * 1000) * 1e6));
      expect(bytes[0]).toBe((1 << 3) | 1);
      expect(bytes.readBigUInt64LE(1)).toBe(expected);
    }
  });
});
