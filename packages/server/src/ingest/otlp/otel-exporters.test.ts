/**
 * The official OpenTelemetry JS metrics exporters (OTLP/HTTP protobuf, OTLP/HTTP JSON with gzip,
 * OTLP/gRPC) send a counter, an up-down counter, an observable gauge and a histogram; the stored
 * Prometheus series must have the expected names, labels and values.
 */
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHarness, dumpStorage, seriesSamples, type IngestHarness } from '../../../test/support/ingest-harness.js';
import { startOtlpGrpcServer, type OtlpGrpcServerHandle } from './grpc-server.js';
import { registerOtlpMetricsRoutes } from './otlp-http-routes.js';

let h: IngestHarness;
let grpc: OtlpGrpcServerHandle;

beforeAll(async () => {
  h = createIngestHarness();
  registerOtlpMetricsRoutes(h.app, { appendable: h.storage, logger: h.logger, registry: h.metrics.registry });
  await h.listen();
  grpc = await startOtlpGrpcServer({ listen: '127.0.0.1:0', appendable: h.storage, logger: h.logger, registry: h.metrics.registry });
});

afterAll(async () => {
  await grpc?.close();
  await h?.close();
});

async function sendWith(instance: string, exporter: PushMetricExporter): Promise<void> {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': instance, 'deployment.environment': 'test' }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  const meter = provider.getMeter('wk-test', '1.0.0');
  const orders = meter.createCounter('orders.placed', { unit: '{order}', description: 'Orders placed.' });
  orders.add(3, { method: 'card' });
  orders.add(2, { method: 'cash' });
  orders.add(1, { method: 'card' });
  const queue = meter.createUpDownCounter('queue.size');
  queue.add(5);
  queue.add(-2);
  meter.createObservableGauge('room.temperature', { unit: 'Cel' }).addCallback((r) => r.observe(21.5, { room: 'kitchen' }));
  const latency = meter.createHistogram('http.server.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100] } });
  for (const v of [5, 50, 500]) latency.record(v, { route: '/buy' });
  await provider.forceFlush();
  await provider.shutdown();
}

async function lastValue(series: string): Promise<number | undefined> {
  const samples = await seriesSamples(h.storage, series);
  return samples?.[samples.length - 1]?.[1];
}

const exporters: [string, () => PushMetricExporter][] = [
  ['http-protobuf', () => new ProtoExporter({ url: `${h.url}/v1/metrics` })],
  ['http-json', () => new JsonExporter({ url: `${h.url}/v1/metrics`, compression: 'gzip' as never })],
  ['grpc', () => new GrpcExporter({ url: `http://127.0.0.1:${grpc.port}` })],
];

describe('OpenTelemetry JS exporters into Watchkeeper', () => {
  for (const [kind, make] of exporters) {
    it(`stores what the ${kind} exporter sends`, async () => {
      await sendWith(`i-${kind}`, make());
      const id = `instance="i-${kind}", job="shop/checkout"`;
      const scope = 'otel_scope_name="wk-test", otel_scope_version="1.0.0"';
      expect(await lastValue(`orders_placed_total{${id}, method="card", ${scope}}`)).toBe(4);
      expect(await lastValue(`orders_placed_total{${id}, method="cash", ${scope}}`)).toBe(2);
      expect(await lastValue(`queue_size{${id}, ${scope}}`)).toBe(3);
      expect(await lastValue(`room_temperature_celsius{${id}, ${scope}, room="kitchen"}`)).toBe(21.5);
      const hist = (suffix: string, le?: string) =>
        `http_server_duration_milliseconds_${suffix}{${id}, ${le === undefined ? '' : `le="${le}", `}${scope}, route="/buy"}`;
      expect(await lastValue(hist('bucket', '10'))).toBe(1);
      expect(await lastValue(hist('bucket', '100'))).toBe(2);
      expect(await lastValue(hist('bucket', '+Inf'))).toBe(3);
      expect(await lastValue(hist('sum'))).toBe(555);
      expect(await lastValue(hist('count'))).toBe(3);

      const stored = await dumpStorage(h.storage);
      const targetInfo = stored.filter((s) => s.startsWith('target_info{') && s.includes(id));
      expect(targetInfo).toHaveLength(1);
      expect(targetInfo[0]).toMatch(/deployment_environment="test"/);
      expect(h.storage.metadata('orders_placed_total').get('orders_placed_total')).toEqual([{ type: 'counter', help: 'Orders placed.', unit: '' }]);
    }, 20_000);
  }

  it('counted the samples per protocol', async () => {
    const samples = await h.metrics.registry.getSingleMetricAsString('watchkeeper_ingest_samples_total');
    expect(samples).toMatch(/protocol="otlp_http"\} [1-9]/);
    expect(samples).toMatch(/protocol="otlp_grpc"\} [1-9]/);
  });
});
