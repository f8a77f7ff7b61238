import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type Attribute, type Span, type SpanResource, SpanKind, StatusCode } from '../../../model/span.js';
import { openSignalStore, type SignalStore } from '../signal-store.js';
import { DuckDBTraceStore } from './duckdb-trace-store.js';

const logger = pino({ level: 'silent' });
const MS = 1_000_000n;
const DAY_MS = 86_400_000;
const T0 = 1_700_000_000_000; // ms

function resource(service: string): SpanResource {
  return { attributes: [{ key: 'service.name', value: service }, { key: 'deployment.environment', value: 'test' }], droppedAttributesCount: 0 };
}

const shop = resource('shop');
const payments = resource('payments');

let spanCounter = 1;
function span(traceId: string, over: Partial<Span> & { startMs: number; durMs: number }): Span {
  const { startMs, durMs, ...rest } = over;
  const res = rest.resource ?? shop;
  return {
    traceId,
    spanId: (spanCounter++).toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'GET /',
    kind: SpanKind.SERVER,
    startNs: BigInt(startMs) * MS,
    endNs: BigInt(startMs + durMs) * MS,
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    resource: res,
    scope: { name: 'test-scope', version: '1.0', attributes: [] },
    service: (res.attributes[0]!.value as string) ?? 'unknown_service',
    requestId: '',
    ...rest,
  };
}

const traceA = 'a'.repeat(16) + '0123456789abcdef';
const traceB = 'b'.repeat(16) + 'fedcba9876543210';
const traceOld = 'c'.repeat(32);

describe('DuckDB trace store', () => {
  const dirs: string[] = [];
  const stores: SignalStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function open(now?: () => number): Promise<{ signals: SignalStore; traces: DuckDBTraceStore }> {
    const dir = mkdtempSync(join(tmpdir(), 'wk-traces-'));
    dirs.push(dir);
    const signals = await openSignalStore({
      dir,
      logger,
      registry: new Registry(),
      retention: { logsMs: 7 * DAY_MS, tracesMs: 7 * DAY_MS, errorsMs: 90 * DAY_MS },
      retentionIntervalMs: 3_600_000,
      ...(now ? { now } : {}),
    });
    stores.push(signals);
    return { signals, traces: await DuckDBTraceStore.open(signals, { retentionMs: 7 * DAY_MS }) };
  }

  const attrs: Attribute[] = [
    { key: 'http.status_code', value: 503n },
    { key: 'http.route', value: '/pay' },
    { key: 'ratio', value: 0.5 },
    { key: 'ok', value: false },
    { key: 'raw', value: new Uint8Array([1, 2, 3]) },
    { key: 'list', value: ['x', 1n] },
    { key: 'kv', value: { values: [{ key: 'inner', value: 'v' }] } },
  ];

  function sampleSpans(): Span[] {
    const root = span(traceA, { startMs: T0, durMs: 120, name: 'GET /checkout', requestId: 'req-1' });
    const client = span(traceA, { startMs: T0 + 10, durMs: 100, name: 'POST /pay', kind: SpanKind.CLIENT, parentSpanId: root.spanId });
    const server = span(traceA, {
      startMs: T0 + 20,
      durMs: 80,
      name: 'POST /pay',
      parentSpanId: client.spanId,
      resource: payments,
      statusCode: StatusCode.ERROR,
      statusMessage: 'card declined',
      attributes: attrs,
      events: [{ timeNs: BigInt(T0 + 30) * MS, name: 'exception', attributes: [{ key: 'exception.type', value: 'CardError' }], droppedAttributesCount: 0 }],
      links: [{ traceId: traceB, spanId: '00000000000000ff', traceState: 'k=v', flags: 1, attributes: [], droppedAttributesCount: 0 }],
    });
    const other = span(traceB, { startMs: T0 + 1000, durMs: 5, name: 'GET /health' });
    return [root, client, server, other];
  }

  it('returns a whole trace by id with every field as sent', async () => {
    const { traces } = await open();
    const spans = sampleSpans();
    await traces.append(spans);
    const got = await traces.trace(traceA);
    expect(got).toHaveLength(3);
    expect(got.map((s) => s.spanId)).toEqual(spans.slice(0, 3).map((s) => s.spanId));
    expect(got[2]).toEqual(spans[2]);
    expect(got[0]!.resource).toBe(got[1]!.resource); // shared again after decoding
    expect(await traces.trace('d'.repeat(32))).toEqual([]);
    expect(await traces.trace('not-an-id')).toEqual([]);
  });

  it('finds a trace whose spans arrived in separate writes, far apart in time, among many others', async () => {
    const { traces } = await open();
    const early = span(traceA, { startMs: T0, durMs: 5, name: 'early' });
    await traces.append([early]);
    const others: Span[] = [];
    for (let i = 0; i < 3000; i++) others.push(span(`${(i + 1).toString(16).padStart(16, '0')}${'1'.repeat(16)}`, { startMs: T0 + 1000 + i, durMs: 1 }));
    await traces.append(others);
    const late = span(traceA, { startMs: T0 + 3_600_000, durMs: 5, name: 'late', parentSpanId: early.spanId });
    await traces.append([late]);
    expect((await traces.trace(traceA)).map((s) => s.name)).toEqual(['early', 'late']);
    const [summary] = await traces.summaries([traceA]);
    expect(summary).toMatchObject({ spanCount: 2, durationNs: 3_600_005n * MS });
    const long = await traces.search({ startNs: 0n, endNs: BigInt(T0 + 7_200_000) * MS, condition: null, minDurationNs: 3_600_000n * MS, limit: 5, spansPerTrace: 1 });
    expect(long.map((t) => t.traceId)).toEqual([traceA]);
  });

  it('summarises traces and searches by intrinsics, attributes and trace duration', async () => {
    const { traces } = await open();
    await traces.append(sampleSpans());
    const range = { startNs: BigInt(T0 - 1000) * MS, endNs: BigInt(T0 + 10_000) * MS, limit: 20, spansPerTrace: 3 };
    const all = await traces.search({ ...range, condition: null });
    expect(all.map((s) => s.traceId)).toEqual([traceB, traceA]);
    const a = all[1]!;
    expect(a).toMatchObject({ rootService: 'shop', rootName: 'GET /checkout', hasRoot: true, spanCount: 3, errorCount: 1, durationNs: 120n * MS, requestIds: ['req-1'] });
    expect(a.services).toEqual([
      { service: 'payments', spanCount: 1, errorCount: 1 },
      { service: 'shop', spanCount: 2, errorCount: 0 },
    ]);

    const byAttr = await traces.search({
      ...range,
      condition: {
        op: 'and',
        left: { op: 'cmp', field: { kind: 'attribute', scope: 'resource', key: 'service.name' }, cmp: '=', value: 'payments' },
        right: { op: 'cmp', field: { kind: 'attribute', scope: 'span', key: 'http.status_code' }, cmp: '>=', value: 500 },
      },
    });
    expect(byAttr.map((s) => s.traceId)).toEqual([traceA]);
    expect(byAttr[0]!.matched.map((m) => m.service)).toEqual(['payments']);
    expect(byAttr[0]!.matchedCount).toBe(1);

    const notFound = await traces.search({ ...range, condition: { op: 'cmp', field: { kind: 'attribute', scope: 'span', key: 'http.status_code' }, cmp: '<', value: 500 } });
    expect(notFound).toEqual([]);
    const regex = await traces.search({ ...range, condition: { op: 'cmp', field: { kind: 'attribute', scope: 'any', key: 'http.route' }, cmp: '=~', value: '/pa.*' } });
    expect(regex.map((s) => s.traceId)).toEqual([traceA]);
    const env = await traces.search({ ...range, condition: { op: 'cmp', field: { kind: 'attribute', scope: 'any', key: 'deployment.environment' }, cmp: '=', value: 'test' } });
    expect(env).toHaveLength(2);
    const status = await traces.search({ ...range, condition: { op: 'cmp', field: { kind: 'intrinsic', name: 'status' }, cmp: '=', value: StatusCode.ERROR } });
    expect(status.map((s) => s.traceId)).toEqual([traceA]);
    const slowSpans = await traces.search({ ...range, condition: { op: 'cmp', field: { kind: 'intrinsic', name: 'duration' }, cmp: '>', value: 90e6 } });
    expect(slowSpans.map((s) => s.traceId)).toEqual([traceA]);
    const longTraces = await traces.search({ ...range, condition: null, minDurationNs: 100n * MS });
    expect(longTraces.map((s) => s.traceId)).toEqual([traceA]);
    const shortTraces = await traces.search({ ...range, condition: null, maxDurationNs: 10n * MS });
    expect(shortTraces.map((s) => s.traceId)).toEqual([traceB]);
    const limited = await traces.search({ ...range, condition: null, limit: 1 });
    expect(limited.map((s) => s.traceId)).toEqual([traceB]);
    const outside = await traces.search({ ...range, startNs: BigInt(T0 + 5000) * MS, condition: null });
    expect(outside).toEqual([]);
  });

  it('finds traces by request id and lists tags, values, services and summaries', async () => {
    const { traces } = await open();
    await traces.append(sampleSpans());
    const from = BigInt(T0 - 1000) * MS;
    const to = BigInt(T0 + 10_000) * MS;
    expect(await traces.traceIdsByRequestId('req-1', from, to, 10)).toEqual([traceA]);
    expect(await traces.traceIdsByRequestId('req-2', from, to, 10)).toEqual([]);
    const tags = await traces.tagNames(from, to);
    expect(tags.span).toEqual(['http.route', 'http.status_code', 'kv', 'list', 'ok', 'ratio', 'raw']);
    expect(tags.resource).toEqual(['deployment.environment', 'service.name']);
    expect(await traces.tagValues({ kind: 'attribute', scope: 'resource', key: 'service.name' }, from, to, 10)).toEqual(['payments', 'shop']);
    expect(await traces.tagValues({ kind: 'attribute', scope: 'span', key: 'http.status_code' }, from, to, 10)).toEqual(['503']);
    expect(await traces.tagValues({ kind: 'intrinsic', name: 'name' }, from, to, 2)).toEqual(['GET /checkout', 'GET /health']);
    const services = await traces.services(from, to);
    expect(services.map((s) => s.service)).toEqual(['payments', 'shop']);
    expect(services[1]!.operations).toEqual([
      { name: 'GET /checkout', kind: SpanKind.SERVER, spanCount: 1 },
      { name: 'GET /health', kind: SpanKind.SERVER, spanCount: 1 },
      { name: 'POST /pay', kind: SpanKind.CLIENT, spanCount: 1 },
    ]);
    const sums = await traces.summaries([traceA, 'e'.repeat(32)]);
    expect(sums.map((s) => [s.traceId, s.spanCount])).toEqual([[traceA, 3]]);
    expect(await traces.stats()).toEqual({ spans: 4, traces: 2 });
  });

  it('reads back attributes kept only in the tags text, and those the tags text cannot hold', async () => {
    const { traces } = await open();
    const plain = span(traceA, { startMs: T0, durMs: 1, attributes: [{ key: 'http.route', value: '/a=b' }, { key: '', value: '' }, { key: 'n', value: 7n }] });
    const odd = span(traceA, { startMs: T0 + 1, durMs: 1, attributes: [{ key: 'a=b', value: 'x' }, { key: 'sep', value: 'v\x1fw' }] });
    await traces.append([plain, odd]);
    expect(await traces.trace(traceA)).toEqual([plain, odd]);
  });

  it('orders spans of equal start time by their hex span id, high bit set or not', async () => {
    const { traces } = await open();
    const ids = ['ff00000000000001', '0000000000000002', '8000000000000000', '7fffffffffffffff'];
    await traces.append(ids.map((spanId, i) => span(traceA, { startMs: T0, durMs: 1, spanId, parentSpanId: i === 0 ? '' : 'ff00000000000001' })));
    const got = await traces.trace(traceA);
    expect(got.map((s) => s.spanId)).toEqual([...ids].sort());
    expect(got.map((s) => s.parentSpanId)).toEqual(['ff00000000000001', 'ff00000000000001', 'ff00000000000001', '']);
  });

  it('migrates spans stored with text ids (schema version 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wk-traces-'));
    dirs.push(dir);
    const opts = { dir, logger, registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } };
    const v1 = await openSignalStore(opts);
    await v1.writes.exclusive(async (conn) => {
      await conn.run(`CREATE TABLE spans (
        trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR NOT NULL,
        start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, service VARCHAR NOT NULL,
        name VARCHAR NOT NULL, kind UTINYINT NOT NULL, status_code UTINYINT NOT NULL, status_message VARCHAR NOT NULL,
        request_id VARCHAR NOT NULL, request_hash BIGINT NOT NULL, tags VARCHAR NOT NULL, body VARCHAR NOT NULL,
        origin_id BIGINT NOT NULL)`);
      await conn.run(`CREATE TABLE trace_index (
        trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, min_start_ns BIGINT NOT NULL, max_start_ns BIGINT NOT NULL, max_end_ns BIGINT NOT NULL)`);
      await conn.run('CREATE TABLE span_origins (origin_id BIGINT NOT NULL, resource VARCHAR NOT NULL, scope VARCHAR NOT NULL, tags VARCHAR NOT NULL)');
      await conn.run("INSERT INTO signal_schema VALUES ('spans', 1), ('trace_index', 1), ('span_origins', 1)");
      const key = BigInt.asIntN(64, 0x0123456789abcdefn);
      const start = BigInt(T0) * MS;
      await conn.run(
        `INSERT INTO spans VALUES
          ($1, $2, 'f000000000000001', '', $3, $3 + 5000000, 5000000, 'shop', 'GET /', 2, 0, '', 'req-9', 7, '\x1f', '{"a":[]}', 1),
          ($1, $2, '0000000000000002', 'f000000000000001', $3 + 1, $3 + 2, 1, 'shop', 'SELECT', 3, 2, 'boom', '', 0, '\x1f', '{"a":[]}', 1)`,
        [key, traceA, start],
      );
      await conn.run('INSERT INTO trace_index VALUES ($1, $2, $3, $3 + 1, $3 + 5000000)', [key, traceA, start]);
      await conn.run(`INSERT INTO span_origins VALUES (1, '{"a":[["service.name","shop"]],"d":0}', '{"n":"s","v":"1","a":[]}', '\x1f')`);
    });
    await v1.close();
    const signals = await openSignalStore(opts);
    stores.push(signals);
    const traces = await DuckDBTraceStore.open(signals, { retentionMs: 0 });
    const got = await traces.trace(traceA);
    expect(got.map((s) => [s.traceId, s.spanId, s.parentSpanId, s.statusMessage, s.requestId, s.service])).toEqual([
      [traceA, 'f000000000000001', '', '', 'req-9', 'shop'],
      [traceA, '0000000000000002', 'f000000000000001', 'boom', '', 'shop'],
    ]);
    const [summary] = await traces.summaries([traceA]);
    expect(summary).toMatchObject({ traceId: traceA, spanCount: 2, errorCount: 1, hasRoot: true, rootName: 'GET /', requestIds: ['req-9'] });
  });

  it('retention removes old traces only', async () => {
    let now = T0;
    const { signals, traces } = await open(() => now);
    await traces.append([span(traceOld, { startMs: T0 - 8 * DAY_MS, durMs: 10 }), ...sampleSpans()]);
    await signals.runRetention();
    expect(await traces.trace(traceOld)).toEqual([]);
    expect(await traces.trace(traceA)).toHaveLength(3);
    expect(await traces.trace(traceB)).toHaveLength(1);
    now = T0 + 8 * DAY_MS;
    await signals.runRetention();
    expect(await traces.stats()).toEqual({ spans: 0, traces: 0 });
  });
});
