import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord, labelsToRecord } from '../model/labels.js';
import type { LogRecord } from '../model/log-record.js';
import { openSignalStore, type SignalStore } from '../storage/signal-store/signal-store.js';
import type { LogSelectorExpr, MetricExpr } from './ast.js';
import { LogQLParseError, UnsupportedLogQLError } from './errors.js';
import { LogQLEvaluator } from './evaluator.js';
import { parseLogQL } from './parser.js';

describe('LogQL parser', () => {
  it('parses selectors, line filters, parsers, label filters and formats', () => {
    const e = parseLogQL('{app="shop", env=~"prod|dev"} |= "error" != `debug` |~ "time(out)?" | json | status >= 500 and method="GET" | line_format "{{.method}} {{ .path }}" | label_format svc=app');
    expect(e.type).toBe('log');
    const log = e as LogSelectorExpr;
    expect(log.matchers).toEqual([
      { type: '=', name: 'app', value: 'shop' },
      { type: '=~', name: 'env', value: 'prod|dev' },
    ]);
    expect(log.stages.map((s) => s.kind)).toEqual(['line_filter', 'line_filter', 'line_filter', 'json', 'label_filter', 'line_format', 'label_format']);
  });

  it('parses metric queries with grouping before or after the body', () => {
    const e = parseLogQL('sum by (level) (count_over_time({app="shop"} | logfmt | duration > 250ms [5m]))') as MetricExpr;
    expect(e.type).toBe('aggregate');
    const e2 = parseLogQL('topk(3, sum(rate({app="shop"}[1m])) without (pod))') as MetricExpr;
    expect(e2).toMatchObject({ type: 'aggregate', op: 'topk', param: 3, expr: { op: 'sum', grouping: { without: true, labels: ['pod'] } } });
    expect(parseLogQL('bytes_rate({app="x"}[30s] offset 1h)')).toMatchObject({ type: 'range', fn: 'bytes_rate', rangeNs: 30_000_000_000n, offsetNs: 3_600_000_000_000n });
  });

  it.each([
    ['{app="x"} | pattern "<ip> <_>"', '| pattern'],
    ['sum_over_time({app="x"} | unwrap bytes [5m])', 'function sum_over_time()'],
    ['{app="x"} | regexp "(?P<a>.*)"', '| regexp'],
    ['count_over_time({app="x"}[5m]) / 2', 'binary operator "/"'],
    ['{app="x"} | line_format "{{ .a | upper }}"', 'template action'],
    ['{app="x"} |= "a" or "b"', 'line filter "or"'],
    ['quantile_over_time(0.99, {app="x"} | unwrap d [5m])', 'function quantile_over_time()'],
  ])('rejects unsupported %s naming the construct', (q, construct) => {
    expect(() => parseLogQL(q)).toThrow(UnsupportedLogQLError);
    expect(() => parseLogQL(q)).toThrow(construct);
  });

  it.each([
    ['', 'empty query'],
    ['{app="x"', 'expected "}"'],
    ['{app=~".*"}', 'at least one matcher that does not match the empty string'],
    ['{}', 'at least one label matcher'],
    ['count_over_time({app="x"})', 'expected "[" for the range'],
    ['{app="x"} | status > "a"', 'compares numbers'],
    ['{app="x"} | frobnicate', 'unknown pipeline stage "frobnicate"'],
    ['{app="x", b=~"("}', 'invalid regular expression'],
    ['{app="x" |= "a"', 'expected "}"'],
  ])('rejects malformed %j with a position', (q, message) => {
    expect(() => parseLogQL(q)).toThrow(LogQLParseError);
    expect(() => parseLogQL(q)).toThrow(message);
  });
});

describe('LogQL evaluation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-logql-'));
  let store: SignalStore;
  let evaluator: LogQLEvaluator;
  const T0 = 1_700_000_000_000;
  const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

  function rec(ms: number, app: string, level: string, body: string, attributes: Record<string, unknown> = {}): LogRecord {
    return {
      timeNs: ns(ms),
      observedNs: ns(ms),
      service: app,
      level,
      severityText: level,
      severity: 0,
      body,
      traceId: '',
      spanId: '',
      requestId: typeof attributes.request_id === 'string' ? attributes.request_id : '',
      stream: labelsFromRecord({ app, service_name: app }),
      attributes,
      resource: {},
    };
  }

  beforeAll(async () => {
    store = await openSignalStore({ dir, logger: pino({ level: 'silent' }), registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
    evaluator = new LogQLEvaluator(store.logs);
    await store.logs.append([
      rec(T0 + 1_000, 'shop', 'info', '{"method":"GET","status":200,"path":"/a","duration":"120ms"}'),
      rec(T0 + 2_000, 'shop', 'error', '{"method":"POST","status":503,"path":"/pay","duration":"2s"}', { request_id: 'r-1' }),
      rec(T0 + 61_000, 'shop', 'info', 'method=GET status=404 path="/missing page"'),
      rec(T0 + 62_000, 'cart', 'warn', 'cart is slow', { region: 'eu-west' }),
    ]);
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const logs = async (q: string): Promise<{ labels: Record<string, string>; lines: string[] }[]> =>
    (await evaluator.selectLogs(parseLogQL(q) as LogSelectorExpr, { startNs: ns(T0), endNs: ns(T0 + 120_000), limit: 100, direction: 'forward' })).map((s) => ({
      labels: labelsToRecord(s.labels),
      lines: s.entries.map((e) => e.line),
    }));

  it('filters by stream, line filter and pushed-down request id', async () => {
    expect((await logs('{app="shop"} |= "status" != "POST"')).flatMap((s) => s.lines)).toHaveLength(2);
    expect((await logs('{app=~"shop|cart"} |~ "slow|POST"')).flatMap((s) => s.lines)).toEqual([expect.stringContaining('POST'), 'cart is slow']);
    expect((await logs('{app="shop"} | request_id="r-1"')).flatMap((s) => s.lines)).toEqual([expect.stringContaining('/pay')]);
  });

  it('parses json and logfmt, filters numerically and formats lines and labels', async () => {
    const json = await logs('{app="shop"} | json | status >= 500 | line_format "{{.method}} {{.path}}"');
    expect(json).toEqual([{ labels: expect.objectContaining({ app: 'shop', level: 'error', method: 'POST', status: '503' }), lines: ['POST /pay'] }]);
    const dur = await logs('{app="shop"} | json | duration > 1s');
    expect(dur.flatMap((s) => s.lines)).toEqual([expect.stringContaining('/pay')]);
    const fmt = await logs('{app="shop"} | logfmt | path="/missing page" | label_format code=status');
    expect(fmt).toEqual([{ labels: expect.objectContaining({ code: '404', method: 'GET' }), lines: [expect.stringContaining('missing')] }]);
    expect(fmt[0]!.labels.status).toBeUndefined();
    const kept = await logs('{app="shop"} | json | status >= 500 | keep method, app | drop app="other"');
    expect(kept.map((k) => k.labels)).toEqual([{ app: 'shop', method: 'POST' }]);
    const attr = await logs('{app="cart"} | region="eu-west"');
    expect(attr.flatMap((s) => s.lines)).toEqual(['cart is slow']);
  });

  it('evaluates count_over_time, rate and bytes with sum by and topk', async () => {
    const range = { startNs: ns(T0 + 60_000), endNs: ns(T0 + 120_000), stepNs: 60_000_000_000n };
    const byLevel = await evaluator.evalMetric(parseLogQL('sum by (level) (count_over_time({app=~".+"}[1m]))') as MetricExpr, range);
    const values = Object.fromEntries(byLevel.series.map((s) => [labelsToRecord(s.labels).level, Array.from(s.values)]));
    expect(values).toEqual({ info: [1, 1], error: [1, NaN], warn: [NaN, 1] });
    const rate = await evaluator.evalMetric(parseLogQL('sum(rate({app="shop"}[2m]))') as MetricExpr, { ...range, startNs: range.endNs });
    expect(Array.from(rate.series[0]!.values)).toEqual([3 / 120]);
    const bytes = await evaluator.evalMetric(parseLogQL('sum(bytes_over_time({app="cart"}[2m]))') as MetricExpr, { ...range, startNs: range.endNs });
    expect(Array.from(bytes.series[0]!.values)).toEqual([Buffer.byteLength('cart is slow')]);
    const parsed = await evaluator.evalMetric(parseLogQL('sum by (method) (count_over_time({app="shop"} | json | __error__="" [2m]))') as MetricExpr, { ...range, startNs: range.endNs });
    expect(Object.fromEntries(parsed.series.map((s) => [labelsToRecord(s.labels).method, s.values[0]]))).toEqual({ GET: 1, POST: 1 });
    const volume = await evaluator.evalMetric(parseLogQL('sum by (level, detected_level) (count_over_time({app=~".+"} | drop __error__, __error_details__ [2m]))') as MetricExpr, { ...range, startNs: range.endNs });
    expect(Object.fromEntries(volume.series.map((s) => [labelsToRecord(s.labels).level, s.values[0]]))).toEqual({ info: 2, error: 1, warn: 1 });
    const top = await evaluator.evalMetric(parseLogQL('topk(1, sum by (app) (count_over_time({app=~".+"}[2m])))') as MetricExpr, { ...range, startNs: range.endNs });
    expect(top.series.map((s) => labelsToRecord(s.labels).app)).toEqual(['shop']);
  });
});
