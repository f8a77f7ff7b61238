import { afterAll, describe, expect, it } from 'vitest';
import { recordsOfColumns } from '../../storage/log-columns.js';
import { ThreadUnavailableError } from '../../threads/thread-pool.js';
import { JsonLinesDecoderPool } from './json-lines-decoder-pool.js';
import { decodeJsonLines, type DecodedJsonLines } from './json-lines-decoder.js';

const defaults = { service: 'svc', environment: 'test', version: '1.0' };
const OBSERVED = 1_800_000_000_000_000_000n;

/** What a decoded body amounts to: its records as the store would read them back, and its rejections. */
function summary(d: DecodedJsonLines): unknown {
  return { records: recordsOfColumns(d.columns), total: d.total, rejected: d.rejected, rejectionSummary: d.rejectionSummary };
}

describe('JsonLinesDecoderPool', () => {
  const pool = new JsonLinesDecoderPool({ threads: 2 });
  afterAll(() => pool.close());

  it('decodes in a worker exactly as on the event loop, rejected lines included', async () => {
    const text = [
      '{"level":30,"time":1700000000123,"name":"checkout","request_id":"r-1","trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736","span_id":"00f067aa0ba902b7","msg":"paid ✓","req":{"url":"/pay"}}',
      'not json',
      '',
      '  {"message":"retrying","levelname":"WARNING","ts":1700000000.25,"correlation_id":"c-9","trace_id":"1234"}  ',
      '[1]',
      '{"time":"soon"}',
      '{"msg":{"nested":true},"service":"other","version":"2"}',
    ].join('\n');
    const decoded = await pool.decode(Buffer.from(text), defaults, OBSERVED);
    expect(summary(decoded)).toEqual(summary(decodeJsonLines(Buffer.from(text), defaults, OBSERVED)));
    expect(decoded.total).toBe(6);
    expect(decoded.rejectionSummary).toMatch(/^3 of 6 lines rejected: line 2: invalid JSON.*; line 5: expected a JSON object; line 6: unrecognised time/);
    const [first, second, third] = recordsOfColumns(decoded.columns);
    expect(first).toMatchObject({ body: 'paid ✓', service: 'checkout', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', attributes: { req: { url: '/pay' } } });
    expect(second).toMatchObject({ body: 'retrying', level: 'warn', requestId: 'c-9', traceId: '1234', service: 'svc', resource: { 'service.version': '1.0' } });
    expect(third).toMatchObject({ body: '{"nested":true}', service: 'other', resource: { 'service.name': 'other', 'service.version': '2' } });
  });

  it('decodes random bytes as the event loop does, never failing the request', async () => {
    let seed = 11;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const pieces = ['{', '}', '"', ':', ',', '\n', 'msg', 'time', '1', ' ', '\\', 'é', '[', 'null', '\u0000', '\ud800'];
    for (let i = 0; i < 40; i++) {
      const random = i % 2 === 0 ? Buffer.from(Array.from({ length: 1 + (next() % 400) }, () => next() & 0xff)) : Buffer.from(Array.from({ length: 1 + (next() % 60) }, () => pieces[next() % pieces.length]).join(''));
      const decoded = await pool.decode(random, defaults, OBSERVED);
      expect(summary(decoded)).toEqual(summary(decodeJsonLines(random, defaults, OBSERVED)));
    }
  });

  it('fails the request of a thread that dies with ThreadUnavailableError and replaces the thread', async () => {
    const single = new JsonLinesDecoderPool({ threads: 1 });
    try {
      const lost = single.decode(Buffer.from('{"msg":"lost"}\n'.repeat(20_000)), defaults, OBSERVED);
      const [dying] = single.threads;
      void dying!.terminate();
      await expect(lost).rejects.toBeInstanceOf(ThreadUnavailableError);
      const after = await Promise.all([1, 2, 3].map((i) => single.decode(Buffer.from(`{"msg":"after ${i}"}`), defaults, OBSERVED)));
      expect(after.map((d) => recordsOfColumns(d.columns)[0]!.body)).toEqual(['after 1', 'after 2', 'after 3']);
      expect(single.threads[0]).not.toBe(dying);
    } finally {
      await single.close();
    }
  });

  it('stops its threads on close and refuses requests afterwards', async () => {
    const closing = new JsonLinesDecoderPool({ threads: 1 });
    const pending = expect(closing.decode(Buffer.from('{"msg":"x"}\n'.repeat(20_000)), defaults, OBSERVED)).rejects.toBeInstanceOf(ThreadUnavailableError);
    const workers = [...closing.threads];
    await closing.close();
    await pending;
    await expect(closing.decode(Buffer.from('{"msg":"x"}'), defaults, OBSERVED)).rejects.toThrow(/closed/);
    expect(workers.every((w) => w.threadId === -1)).toBe(true);
  });
});
