import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHarness, dumpStorage, seriesSamples, type IngestHarness } from '../../../test/support/ingest-harness.js';
import { encodeMetricsRequest, ExportMetricsServiceResponse } from '../../../test/support/otlp-root.js';
import { registerOtlpMetricsRoutes } from './otlp-http-routes.js';

const T = '1700000000000000000';
const T_MS = 1700000000000;

let h: IngestHarness;

beforeAll(async () => {
  h = createIngestHarness({ bodyLimitBytes: 256 * 1024 });
  registerOtlpMetricsRoutes(h.app, { appendable: h.storage, logger: h.logger, registry: h.metrics.registry, maxDecompressedBytes: 512 * 1024 });
  await h.app.ready();
});

afterAll(async () => {
  await h.close();
});

const resource = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'shop' } },
    { key: 'service.namespace', value: { stringValue: 'prod' } },
    { key: 'service.instance.id', value: { stringValue: 'i-1' } },
    { key: 'host.name', value: { stringValue: 'box' } },
  ],
};

function request(metrics: unknown[]): Record<string, unknown> {
  return { resourceMetrics: [{ resource, scopeMetrics: [{ scope: { name: 'checkout', version: '1.2' }, metrics }] }] };
}

function postJson(body: unknown, headers: Record<string, string> = {}) {
  return h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
}

const ID = 'instance="i-1", job="prod/shop", otel_scope_name="checkout", otel_scope_version="1.2"';

describe('POST /v1/metrics', () => {
  it('translates every metric kind to Prometheus series', async () => {
    const res = await postJson(
      request([
        { name: 'http.server.requests', unit: '{request}', description: 'Requests.', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: '7', attributes: [{ key: 'http.method', value: { stringValue: 'GET' } }] }] } },
        { name: 'queue.depth', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: T, asDouble: -2 }] } },
        { name: 'cpu.utilization', unit: '1', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 0.25 }] } },
        { name: 'memory.heap', unit: 'By', gauge: { dataPoints: [{ timeUnixNano: T, asInt: '1024', flags: 1 }] } },
        {
          name: 'http.server.duration',
          unit: 'ms',
          histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T, count: '6', sum: 12.5, bucketCounts: ['1', '2', '3'], explicitBounds: [5, 10] }] },
        },
        { name: 'rpc.latency', unit: 's', summary: { dataPoints: [{ timeUnixNano: T, count: '4', sum: 2, quantileValues: [{ quantile: 0.5, value: 0.3 }, { quantile: 1, value: 0.9 }] }] } },
        { name: '1st.value', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1, attributes: [{ key: 'a.b', value: { stringValue: 'x' } }, { key: 'a_b', value: { intValue: 2 } }, { key: '9k', value: { boolValue: true } }] }] } },
      ]),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({});
    const stored = await dumpStorage(h.storage);
    const expected = [
      `http_server_requests_total{${ID.replace('instance="i-1", ', 'http_method="GET", instance="i-1", ')}} ${T_MS}=7`,
      `queue_depth{${ID}} ${T_MS}=-2`,
      `cpu_utilization_ratio{${ID}} ${T_MS}=0.25`,
      `http_server_duration_milliseconds_bucket{${ID.replace('job="prod/shop", ', 'job="prod/shop", le="5", ')}} ${T_MS}=1`,
      `http_server_duration_milliseconds_bucket{${ID.replace('job="prod/shop", ', 'job="prod/shop", le="10", ')}} ${T_MS}=3`,
      `http_server_duration_milliseconds_bucket{${ID.replace('job="prod/shop", ', 'job="prod/shop", le="+Inf", ')}} ${T_MS}=6`,
      `http_server_duration_milliseconds_sum{${ID}} ${T_MS}=12.5`,
      `http_server_duration_milliseconds_count{${ID}} ${T_MS}=6`,
      `rpc_latency_seconds{${ID}, quantile="0.5"} ${T_MS}=0.3`,
      `rpc_latency_seconds{${ID}, quantile="1"} ${T_MS}=0.9`,
      `rpc_latency_seconds_sum{${ID}} ${T_MS}=2`,
      `rpc_latency_seconds_count{${ID}} ${T_MS}=4`,
      `_1st_value{a_b="x;2", instance="i-1", job="prod/shop", key_9k="true", otel_scope_name="checkout", otel_scope_version="1.2"} ${T_MS}=1`,
      `target_info{host_name="box", instance="i-1", job="prod/shop"} ${T_MS}=1`,
    ];
    for (const line of expected) expect(stored).toContain(line);
    const heap = await seriesSamples(h.storage, `memory_heap_bytes{${ID}}`);
    expect(heap).toHaveLength(1);
    // MemoryStorage's number[] may canonicalize the NaN payload; the exact bit pattern is checked in metrics-translator.test.ts.
    expect(heap![0]![1]).toBeNaN();
    expect(h.storage.metadata('http_server_requests_total').get('http_server_requests_total')).toEqual([{ type: 'counter', help: 'Requests.', unit: '' }]);
    expect(h.storage.metadata('http_server_duration_milliseconds').get('http_server_duration_milliseconds')).toEqual([
      { type: 'histogram', help: '', unit: 'milliseconds' },
    ]);
  });

  it('rejects delta and exponential-histogram metrics with a partial success and keeps the rest', async () => {
    const res = await postJson(
      request([
        { name: 'deltas', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: '1' }, { timeUnixNano: T, asInt: '2' }] } },
        { name: 'exp', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T, count: '1' }] } },
        { name: 'kept', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 5 }] } },
        { name: 'future', gauge: { dataPoints: [{ timeUnixNano: String(BigInt(Date.now() + 3_600_000) * 1_000_000n), asDouble: 5 }] } },
      ]),
    );
    expect(res.statusCode).toBe(200);
    const partial = res.json().partialSuccess;
    expect(partial.rejectedDataPoints).toBe('4');
    expect(partial.errorMessage).toMatch(/out_of_bounds: 1/);
    expect(partial.errorMessage).toMatch(/metric "deltas": delta temporality is not supported; configure the exporter for cumulative temporality/);
    expect(partial.errorMessage).toMatch(/exponential_histogram_unsupported: 1/);
    expect(await dumpStorage(h.storage)).toContain(`kept{${ID}} ${T_MS}=5`);
  });

  it('answers protobuf with a protobuf partial success and accepts gzip', async () => {
    const body = encodeMetricsRequest(request([{ name: 'ooo', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } }]));
    const first = await h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, payload: gzipSync(body) });
    expect(first.statusCode).toBe(200);
    expect(first.rawPayload.length).toBe(0);
    const older = encodeMetricsRequest(request([{ name: 'ooo', gauge: { dataPoints: [{ timeUnixNano: '1690000000000000000', asDouble: 2 }] } }]));
    const second = await h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf' }, payload: older });
    expect(second.statusCode).toBe(200);
    const decoded = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(second.rawPayload), { longs: String });
    expect(decoded).toEqual({ partialSuccess: { rejectedDataPoints: '1', errorMessage: expect.stringMatching(/out_of_order: 1.*metric "ooo": out of order sample/) } });
  });

  const malformed: [string, () => Promise<{ statusCode: number; body: string; rawPayload: Buffer; headers: Record<string, unknown> }>, number, RegExp][] = [
    ['invalid JSON', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/json' }, payload: '{"resourceMetrics": [' }), 400, /invalid JSON/],
    ['an empty JSON body', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/json' }, payload: '' }), 400, /empty request body/],
    ['a wrongly shaped JSON body', () => postJson({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{ asDouble: 'lots' }] } }] }] }] }), 400, /dataPoints\[0\]\.asDouble: expected a number/],
    ['truncated protobuf', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf' }, payload: encodeMetricsRequest(request([{ name: 'x', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 1 }] } }])).subarray(0, 30) }), 400, /otlp metrics: truncated/],
    ['random bytes', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf' }, payload: Buffer.from('0affffffff0f0102', 'hex') }), 400, /otlp metrics: /],
    ['invalid gzip', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, payload: Buffer.from('not gzip') }), 400, /otlp: the body is not valid gzip data/],
    ['a gzip bomb', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, payload: gzipSync(Buffer.alloc(4 * 1024 * 1024)) }), 413, /gzip-decoded body is larger than the limit of 524288 bytes/],
    ['an unknown encoding', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'zstd' }, payload: Buffer.from('x') }), 415, /unsupported Content-Encoding "zstd"/],
    ['a text body', () => h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'text/plain' }, payload: 'up 1' }), 415, /unsupported Content-Type "text\/plain"/],
  ];
  for (const [name, send, status, message] of malformed) {
    it(`answers ${status} with a Status body to ${name} and stores nothing`, async () => {
      const before = await dumpStorage(h.storage);
      const res = await send();
      expect(res.statusCode).toBe(status);
      const contentType = String(res.headers['content-type']);
      const text = contentType.includes('json') ? (JSON.parse(res.body) as { message: string }).message : res.rawPayload.toString('latin1');
      expect(text).toMatch(message);
      expect(await dumpStorage(h.storage)).toEqual(before);
    });
  }

  it('answers 200 or 400, never 5xx, to randomly mutated protobuf requests', async () => {
    const valid = encodeMetricsRequest(
      request([
        { name: 'fz', unit: 's', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: T, count: '3', sum: 1, bucketCounts: ['1', '2'], explicitBounds: [1] }] } },
        { name: 'fz.sum', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: T, asInt: '5', attributes: [{ key: 'k', value: { arrayValue: { values: [{ intValue: 1 }] } } }] }] } },
      ]),
    );
    let seed = 99;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    for (let i = 0; i < 300; i++) {
      const mutated = Buffer.from(valid);
      for (let k = 0, n = 1 + Math.floor(rand() * 4); k < n; k++) mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
      const res = await h.app.inject({ method: 'POST', url: '/v1/metrics', headers: { 'content-type': 'application/x-protobuf' }, payload: mutated });
      expect([200, 400], res.rawPayload.toString('latin1')).toContain(res.statusCode);
    }
  });

  it('counts requests and rejected points in the self metrics', async () => {
    const requests = await h.metrics.registry.getSingleMetricAsString('watchkeeper_ingest_requests_total');
    expect(requests).toMatch(/protocol="otlp_http",code="200"\} [1-9]/);
    expect(requests).toMatch(/protocol="otlp_http",code="400"\} [1-9]/);
    const rejected = await h.metrics.registry.getSingleMetricAsString('watchkeeper_ingest_rejected_samples_total');
    expect(rejected).toMatch(/protocol="otlp_http",reason="delta_temporality"\} 2/);
  });
});

describe('registerOtlpMetricsRoutes on a second app (the OTLP/HTTP port)', () => {
  it('shares the registry and the storage with the first', async () => {
    const second = createIngestHarness();
    registerOtlpMetricsRoutes(second.app, { appendable: h.storage, logger: h.logger, registry: h.metrics.registry });
    await second.app.ready();
    const res = await second.app.inject({
      method: 'POST',
      url: '/v1/metrics',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(request([{ name: 'second.port', gauge: { dataPoints: [{ timeUnixNano: T, asDouble: 9 }] } }])),
    });
    expect(res.statusCode).toBe(200);
    expect(await dumpStorage(h.storage)).toContain(`second_port{${ID}} ${T_MS}=9`);
    await second.close();
  });
});
