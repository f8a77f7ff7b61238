/**
 * The official OpenTelemetry JS trace exporters (OTLP/HTTP protobuf, OTLP/HTTP JSON with gzip,
 * OTLP/gRPC) send a trace across two services; the Tempo API must return it whole by id (OTLP JSON
 * and protobuf, checked against what the SDK recorded and against OpenTelemetry's generated
 * codec), search must find it by tags, TraceQL, duration and request id, and the span metrics and
 * service-graph series must count it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace as traceApi } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHarness, seriesSamples, type IngestHarness } from '../../../test/support/ingest-harness.js';
import { registerTempoApi } from '../../api/tempo/tempo-api.js';
import { SpanMetricsGenerator } from '../../span-metrics/span-metrics-generator.js';
import { DuckDBTraceStore } from '../../storage/signal-store/traces/duckdb-trace-store.js';
import { openSignalStore, type SignalStore } from '../../storage/signal-store/signal-store.js';
import { StoreOverloadedError } from '../../storage/signal-store/write-queue.js';
import { ProtoReader } from '../protobuf/proto-reader.js';
import { startOtlpGrpcServer, type OtlpGrpcServerHandle } from './grpc-server.js';
import { OtlpTracesReceiver } from './otlp-traces-receiver.js';
import { decodeTracesRequestJson } from './traces-json-decoder.js';
import { decodeTracesRequestProto } from './traces-proto-decoder.js';
import { otlpTracesGrpcService } from './traces-grpc.js';
import { registerOtlpTracesRoutes } from './traces-routes.js';

const require = createRequire(import.meta.url);
const transformerDir = dirname(require.resolve('@opentelemetry/otlp-transformer/package.json'));
const generated = require(join(transformerDir, 'build/src/generated/root.js')) as {
  opentelemetry: { proto: { trace: { v1: { TracesData: { decode(b: Uint8Array): unknown; toObject(m: unknown, o: Record<string, unknown>): Record<string, unknown> } } } } };
};
const TracesData = generated.opentelemetry.proto.trace.v1.TracesData;

const DAY_MS = 86_400_000;
const T0 = Date.now() - 60_000;
const opts = { requestIdAttributes: ['http.request.header.x-request-id', 'request_id'] };

let h: IngestHarness;
let grpc: OtlpGrpcServerHandle;
let signals: SignalStore;
let traces: DuckDBTraceStore;
let generator: SpanMetricsGenerator;
let dir: string;
const startS = Math.floor(T0 / 1000) - 10;
const endS = Math.floor(T0 / 1000) + 10;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wk-otel-traces-'));
  h = createIngestHarness();
  signals = await openSignalStore({
    dir,
    logger: h.logger,
    registry: h.metrics.registry,
    retention: { logsMs: 7 * DAY_MS, tracesMs: 7 * DAY_MS, errorsMs: 7 * DAY_MS },
    retentionIntervalMs: 3_600_000,
  });
  traces = await DuckDBTraceStore.open(signals, { retentionMs: 7 * DAY_MS });
  generator = new SpanMetricsGenerator({ appendable: h.storage, logger: h.logger, registry: h.metrics.registry });
  const receiver = new OtlpTracesReceiver({ store: traces, logger: h.logger, registry: h.metrics.registry, spanMetrics: generator });
  registerOtlpTracesRoutes(h.app, { store: traces, logger: h.logger, registry: h.metrics.registry, receiver });
  registerTempoApi(h.app, { traces, logs: signals.logs });
  await h.listen();
  grpc = await startOtlpGrpcServer({
    listen: '127.0.0.1:0',
    appendable: h.storage,
    logger: h.logger,
    registry: h.metrics.registry,
    services: [otlpTracesGrpcService({ receiver, logger: h.logger })],
  });
});

afterAll(async () => {
  await grpc?.close();
  await h?.close();
  await signals?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A checkout in `frontend-<kind>` calling `backend-<kind>`, which fails with an exception. */
async function sendTrace(kind: string, exporter: () => SpanExporter): Promise<{ traceId: string; recorded: ReadableSpan[] }> {
  const recorded = new InMemorySpanExporter();
  const provider = (service: string): BasicTracerProvider =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test' }),
      spanProcessors: [new SimpleSpanProcessor(exporter()), new SimpleSpanProcessor(recorded)],
    });
  const frontend = provider(`frontend-${kind}`);
  const backend = provider(`backend-${kind}`);
  const ft = frontend.getTracer('shop-frontend', '1.2.3');
  const bt = backend.getTracer('shop-backend');
  const root = ft.startSpan('GET /checkout', {
    kind: ApiSpanKind.SERVER,
    startTime: T0,
    attributes: { 'http.request.header.x-request-id': [`req-${kind}`], 'http.route': '/checkout' },
  });
  const client = ft.startSpan('POST /pay', { kind: ApiSpanKind.CLIENT, startTime: T0 + 10, attributes: { 'http.request.method': 'POST' } }, traceApi.setSpan(ROOT_CONTEXT, root));
  const server = bt.startSpan(
    'POST /pay',
    { kind: ApiSpanKind.SERVER, startTime: T0 + 20, attributes: { 'http.response.status_code': 502, 'retry.ratio': 0.25, 'cache.hit': false } },
    traceApi.setSpanContext(ROOT_CONTEXT, client.spanContext()),
  );
  server.recordException(new TypeError('card declined'), T0 + 200);
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
  server.end(T0 + 250);
  client.setStatus({ code: SpanStatusCode.ERROR });
  client.end(T0 + 260);
  root.end(T0 + 300);
  for (const p of [frontend, backend]) await p.forceFlush();
  // Shutting a provider down also clears the shared in-memory exporter: read it first.
  const spans = [...recorded.getFinishedSpans()];
  for (const p of [frontend, backend]) await p.shutdown();
  return { traceId: root.spanContext().traceId, recorded: spans };
}

function unwrapField1(buf: Buffer): Buffer {
  const r = new ProtoReader(buf, 'TraceByIDResponse');
  expect(r.tag(buf.length)).toBe((1 << 3) | 2);
  const trace = r.bytes();
  expect(r.pos).toBe(buf.length);
  return trace;
}

function hrNanos([s, ns]: [number, number]): string {
  return (BigInt(s) * 1_000_000_000n + BigInt(ns)).toString();
}

const exporters: [string, () => SpanExporter][] = [
  ['http-protobuf', () => new ProtoExporter({ url: `${h.url}/v1/traces` })],
  ['http-json', () => new JsonExporter({ url: `${h.url}/v1/traces`, compression: 'gzip' as never })],
  ['grpc', () => new GrpcExporter({ url: `http://127.0.0.1:${grpc.port}` })],
];

describe('OpenTelemetry JS trace exporters into Watchkeeper', () => {
  for (const [kind, make] of exporters) {
    it(`stores, finds and counts what the ${kind} exporter sends`, async () => {
      const { traceId, recorded } = await sendTrace(kind, make);
      expect(recorded).toHaveLength(3);

      // Trace by id, OTLP JSON: every span as the SDK recorded it.
      const res = await h.app.inject({ method: 'GET', url: `/api/traces/${traceId}` });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { batches: unknown[] };
      const stored = decodeTracesRequestJson({ resourceSpans: body.batches }, opts);
      expect(stored.rejections.total).toBe(0);
      expect(stored.spans).toHaveLength(3);
      for (const r of recorded) {
        const s = stored.spans.find((x) => x.spanId === r.spanContext().spanId)!;
        expect(s).toBeDefined();
        expect(s.traceId).toBe(traceId);
        expect(s.parentSpanId).toBe(r.parentSpanContext?.spanId ?? '');
        expect(s.name).toBe(r.name);
        expect(s.kind).toBe(r.kind + 1);
        expect(s.startNs.toString()).toBe(hrNanos(r.startTime));
        expect(s.endNs.toString()).toBe(hrNanos(r.endTime));
        expect(s.statusCode).toBe(r.status.code);
        expect(s.statusMessage).toBe(r.status.message ?? '');
        expect(s.service).toBe(r.resource.attributes['service.name']);
        expect(s.scope.name).toBe(r.instrumentationScope.name);
        expect(Object.fromEntries(s.attributes.map((a) => [a.key, typeof a.value === 'bigint' ? Number(a.value) : a.value]))).toEqual(r.attributes);
        expect(s.events.map((e) => e.name)).toEqual(r.events.map((e) => e.name));
      }
      const failed = stored.spans.find((s) => s.service === `backend-${kind}`)!;
      const exception = failed.events.find((e) => e.name === 'exception')!;
      expect(exception.attributes.find((a) => a.key === 'exception.type')?.value).toBe('TypeError');
      expect(exception.attributes.find((a) => a.key === 'exception.message')?.value).toBe('card declined');
      expect(failed.attributes.find((a) => a.key === 'http.response.status_code')?.value).toBe(502n);
      expect(failed.attributes.find((a) => a.key === 'retry.ratio')?.value).toBe(0.25);

      // Protobuf: the same spans, and valid to OpenTelemetry's own generated codec.
      for (const url of [`/api/traces/${traceId}`, `/api/v2/traces/${traceId}`]) {
        const pb = await h.app.inject({ method: 'GET', url, headers: { accept: 'application/protobuf' } });
        expect(pb.statusCode).toBe(200);
        expect(pb.headers['content-type']).toMatch(/application\/protobuf/);
        // v2 wraps the trace in TraceByIDResponse field 1.
        const bytes = url.includes('/v2/') ? unwrapField1(pb.rawPayload) : pb.rawPayload;
        expect(decodeTracesRequestProto(bytes, opts).spans).toEqual(stored.spans);
        const viaOtel = TracesData.toObject(TracesData.decode(bytes), { longs: String, enums: Number, bytes: String });
        expect(JSON.stringify(viaOtel)).toContain('card declined');
      }
      const v2 = await h.app.inject({ method: 'GET', url: `/api/v2/traces/${traceId}` });
      expect(decodeTracesRequestJson(v2.json().trace, opts).spans).toEqual(stored.spans);

      // Search by tags, TraceQL, duration and request id.
      const search = async (query: string): Promise<{ traceID: string; rootServiceName: string; durationMs: number; errorCount: number }[]> => {
        const r = await h.app.inject({ method: 'GET', url: `/api/search?start=${startS}&end=${endS}&${query}` });
        expect(r.statusCode, r.body).toBe(200);
        return r.json().traces;
      };
      const tags = encodeURIComponent(`service.name=backend-${kind} http.response.status_code=502`);
      const byTags = await search(`tags=${tags}&minDuration=200ms`);
      expect(byTags.map((t) => t.traceID)).toEqual([traceId]);
      expect(byTags[0]).toMatchObject({ rootServiceName: `frontend-${kind}`, durationMs: 300, errorCount: 2 });
      expect(await search(`tags=${tags}&minDuration=1s`)).toEqual([]);
      expect(await search(`tags=${tags}&maxDuration=100ms`)).toEqual([]);
      const q = encodeURIComponent(`{ resource.service.name = "backend-${kind}" && span.http.response.status_code >= 500 && duration > 200ms }`);
      expect((await search(`q=${q}`)).map((t) => t.traceID)).toEqual([traceId]);
      const qNone = encodeURIComponent(`{ resource.service.name = "backend-${kind}" && span.http.response.status_code < 500 }`);
      expect(await search(`q=${qNone}`)).toEqual([]);
      expect((await search(`requestId=req-${kind}`)).map((t) => t.traceID)).toEqual([traceId]);

      // Span metrics and service-graph edges.
      await generator.flush();
      const last = async (series: string): Promise<number | undefined> => (await seriesSamples(h.storage, series))?.at(-1)?.[1];
      const backendLabels = `service="backend-${kind}", span_kind="SPAN_KIND_SERVER", span_name="POST /pay", status_code="STATUS_CODE_ERROR"`;
      expect(await last(`traces_spanmetrics_calls_total{${backendLabels}}`)).toBe(1);
      expect(await last(`traces_spanmetrics_latency_count{${backendLabels}}`)).toBe(1);
      expect(await last(`traces_spanmetrics_duration_seconds_sum{${backendLabels}}`)).toBeCloseTo(0.23, 9);
      expect(await last(`traces_spanmetrics_duration_seconds_bucket{le="0.256", ${backendLabels}}`)).toBe(1);
      expect(await last(`traces_spanmetrics_duration_seconds_bucket{le="0.128", ${backendLabels}}`)).toBe(0);
      const edge = `client="frontend-${kind}", server="backend-${kind}"`;
      expect(await last(`traces_service_graph_request_total{${edge}}`)).toBe(1);
      expect(await last(`traces_service_graph_request_failed_total{${edge}}`)).toBe(1);
      expect(await last(`traces_service_graph_request_server_seconds_sum{${edge}}`)).toBeCloseTo(0.23, 9);
      expect(await last(`traces_service_graph_request_client_seconds_sum{${edge}}`)).toBeCloseTo(0.25, 9);
    });
  }

  it('lists tags, tag values, services and a trace summary', async () => {
    const range = `start=${startS}&end=${endS}`;
    const tags = (await h.app.inject({ method: 'GET', url: `/api/search/tags?${range}` })).json().tagNames as string[];
    expect(tags).toEqual(expect.arrayContaining(['service.name', 'http.response.status_code', 'deployment.environment']));
    const v2 = (await h.app.inject({ method: 'GET', url: `/api/v2/search/tags?${range}&scope=span` })).json();
    expect(v2.scopes).toHaveLength(1);
    expect(v2.scopes[0].tags).toContain('http.route');
    const values = (await h.app.inject({ method: 'GET', url: `/api/search/tag/service.name/values?${range}` })).json().tagValues as string[];
    expect(values).toEqual(expect.arrayContaining(['backend-grpc', 'frontend-http-json']));
    const status = (await h.app.inject({ method: 'GET', url: `/api/v2/search/tag/status/values?${range}` })).json().tagValues;
    expect(status).toEqual(expect.arrayContaining([{ type: 'keyword', value: 'error' }]));
    const services = (await h.app.inject({ method: 'GET', url: `/api/tracing/services?${range}` })).json().services as { service: string; operations: { name: string; kind: string }[] }[];
    expect(services.find((s) => s.service === 'frontend-grpc')?.operations).toEqual([
      { name: 'GET /checkout', kind: 'SPAN_KIND_SERVER', spanCount: 1 },
      { name: 'POST /pay', kind: 'SPAN_KIND_CLIENT', spanCount: 1 },
    ]);
    const [found] = (await h.app.inject({ method: 'GET', url: `/api/search?requestId=req-grpc&${range}` })).json().traces;
    const summary = (await h.app.inject({ method: 'GET', url: `/api/tracing/traces/${found.traceID}/summary` })).json();
    expect(summary).toMatchObject({ rootServiceName: 'frontend-grpc', rootTraceName: 'GET /checkout', spanCount: 3, errorCount: 2, requestIds: ['req-grpc'] });
    expect((await h.app.inject({ method: 'GET', url: `/api/tracing/traces/${found.traceID}/logs` })).json()).toEqual({ traceID: found.traceID, lines: [] });
    expect((await h.app.inject({ method: 'GET', url: '/api/echo' })).body).toBe('echo');
    expect((await h.app.inject({ method: 'GET', url: '/api/status/buildinfo' })).json().version).toMatch(/^2\./);
    const allScopes = (await h.app.inject({ method: 'GET', url: `/api/v2/search/tags?${range}&scope=none` })).json().scopes;
    expect(allScopes.map((s: { name: string }) => s.name)).toEqual(['resource', 'span', 'intrinsic']);
  });

  it('rejects malformed bodies with 4xx and stores nothing', async () => {
    const before = await traces.stats();
    const cases: [string, string, Buffer | string, number, RegExp][] = [
      ['random protobuf', 'application/x-protobuf', Buffer.from('0affffffff0f0102', 'hex'), 400, /otlp traces: truncated/],
      ['an unknown top-level field (skipped, as protobuf requires)', 'application/x-protobuf', Buffer.from('0801', 'hex'), 200, /^$/],
      ['invalid JSON', 'application/json', '{"resourceSpans": [', 400, /invalid JSON/],
      ['JSON of the wrong shape', 'application/json', '{"resourceSpans": {"x": 1}}', 400, /\$\.resourceSpans: expected an array/],
      ['bad hex id', 'application/json', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}', 400, /traceId: expected a hex-encoded id/],
      ['bad timestamp', 'application/json', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}', 400, /startTimeUnixNano/],
      ['a text body', 'text/plain', 'hello', 415, /unsupported Content-Type/],
    ];
    for (const [name, type, payload, status, message] of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': type }, payload });
      expect(res.statusCode, name).toBe(status);
      if (type === 'application/json' && status === 400) expect(res.json().message, name).toMatch(message);
      if (type === 'application/x-protobuf' && status === 400) expect(res.rawPayload.toString('latin1'), name).toMatch(message);
    }
    for (let i = 0; i < 50; i++) {
      const random = Buffer.from(Array.from({ length: 1 + ((i * 37) % 200) }, (_, j) => (i * 131 + j * 17 + ((j * j) % 7)) & 0xff));
      const res = await h.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' }, payload: random });
      expect([200, 400]).toContain(res.statusCode);
    }
    expect(await traces.stats()).toEqual(before);
  });

  it('keeps the valid spans of a request and reports the rest as partial success', async () => {
    const good = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'ok', startTimeUnixNano: `${T0}000000`, endTimeUnixNano: `${T0 + 1}000000` };
    const bad = { ...good, spanId: '' };
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partial' } }] }, scopeSpans: [{ spans: [good, bad] }] }] };
    const res = await h.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(res.json().partialSuccess.rejectedSpans).toBe('1');
    expect(res.json().partialSuccess.errorMessage).toMatch(/resourceSpans\[0\].scopeSpans\[0\].spans\[1\]: span id must be 8 bytes/);
    expect((await traces.trace('ab'.repeat(16))).map((s) => s.name)).toEqual(['ok']);
  });
});

describe('trace API and gRPC errors', () => {
  it('answers INVALID_ARGUMENT over gRPC for a malformed request', async () => {
    const client = new Client(`127.0.0.1:${grpc.port}`, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, Buffer.from('0aff01', 'hex'), (e) => resolve(e)),
    );
    client.close();
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/otlp traces: truncated/);
  });

  it('answers 404 for an unknown trace and 400 for a bad id or query', async () => {
    const get = (url: string) => h.app.inject({ method: 'GET', url });
    expect((await get(`/api/traces/${'9'.repeat(32)}`)).statusCode).toBe(404);
    const badId = await get('/api/traces/xyz');
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error).toMatch(/invalid trace id "xyz"/);
    const badQ = await get(`/api/search?q=${encodeURIComponent('{ status = maybe }')}`);
    expect(badQ.statusCode).toBe(400);
    expect(badQ.json().error).toMatch(/invalid TraceQL query: status must be one of/);
    expect((await get('/api/search?minDuration=soon')).json().error).toMatch(/invalid minDuration "soon"/);
    expect((await get('/api/search?start=100&end=50')).statusCode).toBe(400);
  });
});

describe('trace ingest under overload', () => {
  it('answers 429 with Retry-After when the store refuses writes', async () => {
    const o = createIngestHarness();
    const store = { append: () => Promise.reject(new StoreOverloadedError('the signal store write queue is full', 1)) };
    registerOtlpTracesRoutes(o.app, { store, logger: o.logger, registry: o.metrics.registry });
    const body = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ef'.repeat(16), spanId: '12'.repeat(8), startTimeUnixNano: '1' }] }] }] };
    const res = await o.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().message).toMatch(/write queue is full/);
    await o.close();
  });
});
