import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { formatLabels, METRIC_NAME } from '../model/labels.js';
import { type Span, SpanKind, StatusCode } from '../model/span.js';
import { MemoryStorage } from '../storage/memory/memory-storage.js';
import { SPAN_METRICS_BUCKETS, SpanMetricsGenerator } from './span-metrics-generator.js';

const logger = pino({ level: 'silent' });
const MS = 1_000_000n;
const T0 = 1_700_000_000_000;

/** The latest value of every series of `name`, keyed by its labels without the name. */
async function latest(storage: MemoryStorage, name: string): Promise<Map<string, number>> {
  const series = await storage.querier(0, Number.MAX_SAFE_INTEGER).select([{ type: '=', name: METRIC_NAME, value: name }], { start: 0, end: Number.MAX_SAFE_INTEGER });
  return new Map(series.map((s) => [formatLabels(s.labels.filter((l) => l.name !== METRIC_NAME)), s.values[s.values.length - 1]!]));
}

let ids = 1;
function span(over: Partial<Span> & { durMs: number }): Span {
  const { durMs, ...rest } = over;
  const service = rest.service ?? 'shop';
  return {
    traceId: 'ab'.repeat(16),
    spanId: (ids++).toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'GET /',
    kind: SpanKind.SERVER,
    startNs: BigInt(T0) * MS,
    endNs: BigInt(T0) * MS + BigInt(Math.round(durMs * 1e6)),
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    resource: { attributes: [{ key: 'service.name', value: service }], droppedAttributesCount: 0 },
    scope: { name: '', version: '', attributes: [] },
    service,
    requestId: '',
    ...rest,
  };
}

describe('SpanMetricsGenerator', () => {
  it('counts calls and latency buckets per service, span name, kind and status, cumulatively', async () => {
    let now = T0;
    const storage = new MemoryStorage();
    const gen = new SpanMetricsGenerator({ appendable: storage, logger, registry: new Registry(), now: () => now });
    gen.observe([span({ durMs: 1 }), span({ durMs: 3 }), span({ durMs: 3000, statusCode: StatusCode.ERROR })]);
    await gen.flush();
    const key = '{service="shop", span_kind="SPAN_KIND_SERVER", span_name="GET /", status_code="STATUS_CODE_UNSET"}';
    const errKey = '{service="shop", span_kind="SPAN_KIND_SERVER", span_name="GET /", status_code="STATUS_CODE_ERROR"}';
    expect(await latest(storage, 'traces_spanmetrics_calls_total')).toEqual(new Map([[key, 2], [errKey, 1]]));
    for (const name of ['traces_spanmetrics_latency', 'traces_spanmetrics_duration_seconds']) {
      const buckets = await latest(storage, `${name}_bucket`);
      expect(buckets.size).toBe(2 * (SPAN_METRICS_BUCKETS.length + 1));
      const le = (bound: string, k = key): number | undefined => buckets.get(k.replace('{', `{le="${bound}", `));
      expect(le('0.002')).toBe(1);
      expect(le('0.004')).toBe(2);
      expect(le('+Inf')).toBe(2);
      expect(le('2.048', errKey)).toBe(0);
      expect(le('4.096', errKey)).toBe(1);
      expect((await latest(storage, `${name}_count`)).get(key)).toBe(2);
      expect((await latest(storage, `${name}_sum`)).get(key)).toBeCloseTo(0.004, 9);
    }
    now += 15_000;
    gen.observe([span({ durMs: 1 })]);
    await gen.flush();
    expect((await latest(storage, 'traces_spanmetrics_calls_total')).get(key)).toBe(3);
  });

  it('pairs client and server spans into service-graph edges and expires unpaired halves', async () => {
    let now = T0;
    const storage = new MemoryStorage();
    const gen = new SpanMetricsGenerator({ appendable: storage, logger, registry: new Registry(), now: () => now, serviceGraphWaitMs: 10_000 });
    const client = span({ service: 'shop', kind: SpanKind.CLIENT, durMs: 300, parentSpanId: '00000000000000aa' });
    const server = span({ service: 'payments', kind: SpanKind.SERVER, durMs: 250, parentSpanId: client.spanId, statusCode: StatusCode.ERROR });
    // The server half arrives first; the pair completes when the client half arrives.
    gen.observe([server]);
    gen.observe([client]);
    // A lone root server span becomes an edge from "user" once its wait is over.
    gen.observe([span({ service: 'shop', kind: SpanKind.SERVER, durMs: 50 })]);
    // A database client span completes at once, the server named after the peer.
    gen.observe([span({ service: 'payments', kind: SpanKind.CLIENT, durMs: 20, attributes: [{ key: 'db.system', value: 'postgresql' }, { key: 'db.name', value: 'ledger' }] })]);
    await gen.flush();
    const edge = '{client="shop", server="payments"}';
    expect(await latest(storage, 'traces_service_graph_request_total')).toEqual(new Map([[edge, 1], ['{client="payments", connection_type="database", server="ledger"}', 1]]));
    expect(await latest(storage, 'traces_service_graph_request_failed_total')).toEqual(new Map([[edge, 1]]));
    const serverBuckets = await latest(storage, 'traces_service_graph_request_server_seconds_bucket');
    expect(serverBuckets.get('{client="shop", le="0.2", server="payments"}')).toBe(0);
    expect(serverBuckets.get('{client="shop", le="0.4", server="payments"}')).toBe(1);
    expect((await latest(storage, 'traces_service_graph_request_client_seconds_sum')).get(edge)).toBeCloseTo(0.3, 9);
    now += 11_000;
    await gen.flush();
    expect((await latest(storage, 'traces_service_graph_request_total')).get('{client="user", connection_type="virtual_node", server="shop"}')).toBe(1);
  });

  it('bounds the unpaired store', async () => {
    const storage = new MemoryStorage();
    const registry = new Registry();
    const gen = new SpanMetricsGenerator({ appendable: storage, logger, registry, now: () => T0, serviceGraphMaxItems: 2 });
    gen.observe([1, 2, 3, 4].map(() => span({ kind: SpanKind.CLIENT, durMs: 1 })));
    await gen.flush();
    const dropped = await registry.getSingleMetric('watchkeeper_service_graph_dropped_spans_total')!.get();
    expect(dropped.values[0]!.value).toBe(2);
    expect((await latest(storage, 'traces_spanmetrics_calls_total')).size).toBe(1);
  });

  it('adds a prepared tally only when its step runs', async () => {
    const storage = new MemoryStorage();
    const gen = new SpanMetricsGenerator({ appendable: storage, logger, registry: new Registry(), now: () => T0 });
    const dropped = gen.prepare([span({ durMs: 5 })]);
    const kept = gen.prepare([span({ durMs: 5 }), span({ durMs: 5 })]);
    kept();
    expect(dropped).toBeTypeOf('function');
    await gen.flush();
    const key = '{service="shop", span_kind="SPAN_KIND_SERVER", span_name="GET /", status_code="STATUS_CODE_UNSET"}';
    expect(await latest(storage, 'traces_spanmetrics_calls_total')).toEqual(new Map([[key, 2]]));
    expect((await latest(storage, 'traces_spanmetrics_latency_sum')).get(key)).toBeCloseTo(0.01, 9);
  });
});
