import { Writable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogsHarness, type LogsHarness } from '../../../test/support/logs-harness.js';
import type { LogRecord } from '../../model/log-record.js';
import { recordsOfColumns } from '../../storage/log-columns.js';
import { parseTime, type JsonLineDefaults } from './json-line-record.js';
import { decodeJsonLines } from './json-lines-decoder.js';

const defaults = { service: '', environment: '', version: '' };
const OBSERVED = 1_800_000_000_000_000_000n;

/** The record one line decodes to (as the store reads it back), or the reason it is rejected. */
function jsonLineToRecord(line: string, d: JsonLineDefaults, observedNs: bigint): LogRecord | string {
  const decoded = decodeJsonLines(Buffer.from(line), d, observedNs);
  if (decoded.rejected > 0) return decoded.rejectionSummary.replace('1 of 1 lines rejected: line 1: ', '');
  return recordsOfColumns(decoded.columns)[0]!;
}

describe('JSON line field recognition', () => {
  it.each([
    [
      'pino',
      '{"level":50,"time":1700000000123,"pid":1,"hostname":"h","name":"checkout","reqId":"r-1","msg":"payment failed","err":{"type":"Error"}}',
      { timeNs: 1_700_000_000_123_000_000n, level: 'error', severity: 17, body: 'payment failed', service: 'checkout', requestId: 'r-1' },
      { pid: 1, hostname: 'h', err: { type: 'Error' } },
    ],
    [
      'bunyan',
      '{"name":"api","hostname":"h","pid":2,"level":30,"msg":"listening","time":"2023-11-14T22:13:20.123Z","v":0}',
      { timeNs: 1_700_000_000_123_000_000n, level: 'info', body: 'listening', service: 'api' },
      { hostname: 'h', pid: 2, v: 0 },
    ],
    [
      'winston',
      '{"level":"warn","message":"slow query","timestamp":"2023-11-14T22:13:20.123456789Z","requestId":"abc","service":"db"}',
      { timeNs: 1_700_000_000_123_456_789n, level: 'warn', severityText: 'warn', body: 'slow query', service: 'db', requestId: 'abc' },
      {},
    ],
    [
      'structlog',
      '{"event":"user logged in","level":"info","timestamp":"2023-11-14T22:13:20.5Z","user":"u1","trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736","span_id":"00f067aa0ba902b7"}',
      { timeNs: 1_700_000_000_500_000_000n, body: 'user logged in', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
      { user: 'u1' },
    ],
    [
      'python-json-logger',
      '{"message":"retrying","levelname":"WARNING","ts":1700000000.25,"correlation_id":"c-9","environment":"staging"}',
      { timeNs: 1_700_000_000_250_000_000n, level: 'warn', severityText: 'WARNING', body: 'retrying', requestId: 'c-9' },
      {},
    ],
  ])('recognises %s fields', (_name, line, expected, attributes) => {
    const r = jsonLineToRecord(line, defaults, OBSERVED);
    if (typeof r === 'string') throw new Error(r);
    expect(r).toMatchObject(expected);
    expect(r.attributes).toEqual(attributes);
  });

  it('uses query defaults when the line names no service and rejects what is not an object', () => {
    const r = jsonLineToRecord('{"msg":"x","X-Request-ID":"h-1"}', { service: 'from-query', environment: 'prod', version: '1.2' }, OBSERVED);
    expect(r).toMatchObject({ service: 'from-query', requestId: 'h-1', timeNs: OBSERVED, resource: { 'service.name': 'from-query', 'deployment.environment': 'prod', 'service.version': '1.2' } });
    expect(jsonLineToRecord('[1]', defaults, OBSERVED)).toBe('expected a JSON object');
    expect(jsonLineToRecord('{"time":"soon"}', defaults, OBSERVED)).toMatch(/unrecognised time/);
  });

  it('guesses epoch units by magnitude', () => {
    expect(parseTime(1700000000)).toBe(1_700_000_000_000_000_000n);
    expect(parseTime(1700000000000)).toBe(1_700_000_000_000_000_000n);
    expect(parseTime('1700000000000000')).toBe(1_700_000_000_000_000_000n);
    expect(parseTime('1700000000000000001')).toBe(1_700_000_000_000_000_001n);
  });
});

describe('POST /api/v1/logs', () => {
  let h: LogsHarness;
  beforeAll(async () => {
    h = await createLogsHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (payload: string | Buffer, url = '/api/v1/logs', headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }) =>
    h.app.inject({ method: 'POST', url, headers, payload });

  it('ingests a real pino stream with its fields recognised', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ name: 'pino-svc' }, sink);
    logger.info({ request_id: 'pino-req-1', trace_id: 'c'.repeat(32), route: '/cart' }, 'cart loaded');
    logger.warn({ requestId: 'pino-req-2' }, 'cart slow');
    const res = await post(lines.join(''), '/api/v1/logs?environment=test');
    expect(res.statusCode).toBe(204);
    const entries = (await h.app.inject({ method: 'GET', url: `/api/v1/logs?direction=forward&query=${encodeURIComponent('{service_name="pino-svc"}')}` })).json().data.entries;
    expect(entries).toMatchObject([
      { line: 'cart loaded', level: 'info', request_id: 'pino-req-1', trace_id: 'c'.repeat(32), labels: { service_name: 'pino-svc', deployment_environment: 'test', level: 'info' }, attributes: { route: '/cart' } },
      { line: 'cart slow', level: 'warn', request_id: 'pino-req-2' },
    ]);
    const byAttr = await h.queryRange('{service_name="pino-svc"} | route="/cart"');
    expect(byAttr.result.flatMap((s) => s.values.map((v) => v[1]))).toEqual(['cart loaded']);
  });

  it('accepts gzip, deflate and br bodies, and refuses other encodings with 415', async () => {
    const encoders = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
    for (const [encoding, encode] of Object.entries(encoders)) {
      const res = await post(encode(`{"msg":"zipped","service":"${encoding}-svc"}\n`), '/api/v1/logs', { 'content-type': 'application/x-ndjson', 'content-encoding': encoding });
      expect(res.statusCode).toBe(204);
      expect((await h.queryRange(`{service_name="${encoding}-svc"}`)).result).toHaveLength(1);
    }
    const refused = await post('{"msg":"x"}\n', '/api/v1/logs', { 'content-type': 'application/x-ndjson', 'content-encoding': 'zstd' });
    expect(refused.statusCode).toBe(415);
    expect(refused.json().error).toMatch(/^json lines: unsupported Content-Encoding "zstd"/);
  });

  it('stores the good lines of a partly bad body and names the bad lines', async () => {
    const res = await post('{"msg":"ok 1","service":"partial"}\nnot json\n\n{"msg":"ok 2","service":"partial"}\n[]\n');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/2 lines stored, 2 of 4 lines rejected: line 2: invalid JSON.*; line 5: expected a JSON object/);
    expect((await h.queryRange('{service_name="partial"}')).result.flatMap((s) => s.values)).toHaveLength(2);
  });

  it('answers 4xx to malformed and random bodies and stores nothing', async () => {
    const before = await h.lineCount();
    let seed = 7;
    const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    const cases: [Buffer | string, Record<string, string>, string?][] = [
      ['', { 'content-type': 'application/x-ndjson' }],
      ['\n\n', { 'content-type': 'application/x-ndjson' }],
      ['{"msg":"x"}', { 'content-type': 'image/png' }],
      ['{"msg":"x"}', { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }],
      ['{"msg":"x"}', { 'content-type': 'application/x-ndjson' }, '/api/v1/logs?service=%00bad'],
    ];
    for (let i = 0; i < 40; i++) cases.push([random(1 + ((i * 41) % 500)), { 'content-type': 'application/x-ndjson' }]);
    for (const [payload, headers, url] of cases) {
      const res = await post(payload, url ?? '/api/v1/logs', headers);
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(await h.lineCount()).toBe(before);
  });
});
