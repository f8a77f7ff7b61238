import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogsHarness, type LogsHarness } from '../../../test/support/logs-harness.js';
import { MemoryStorage } from '../../storage/memory/memory-storage.js';
import { startOtlpGrpcServer, type OtlpGrpcServerHandle } from './grpc-server.js';
import { otlpLogsGrpcService } from './logs-grpc.js';
import { OtlpLogsReceiver } from './otlp-logs-receiver.js';

let h: LogsHarness;
let grpc: OtlpGrpcServerHandle;
const metricsStorage = new MemoryStorage();

beforeAll(async () => {
  h = await createLogsHarness();
  await h.listen();
  const receiver = new OtlpLogsReceiver({ logs: h.store.logs, registry: h.metrics.registry });
  grpc = await startOtlpGrpcServer({
    listen: '127.0.0.1:0',
    appendable: metricsStorage,
    logger: h.logger,
    registry: h.metrics.registry,
    services: [otlpLogsGrpcService({ receiver, logger: h.logger })],
  });
});
afterAll(async () => {
  await grpc?.close();
  await h?.close();
  await metricsStorage.close();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

async function emitWith(exporter: LogRecordExporter, service: string): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment.name': 'test' }),
    processors: [new SimpleLogRecordProcessor(exporter)],
  });
  const logger = provider.getLogger('checkout', '1.0.0');
  const spanContext = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  logger.emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: 'card declined',
    attributes: { request_id: `${service}-req`, 'http.method': 'POST', retries: 3 },
    context: spanContext,
  });
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: { event: 'cart', items: 2 } });
  await provider.forceFlush();
  await provider.shutdown();
}

describe('OTLP logs from the OpenTelemetry JS SDK', () => {
  it.each([
    ['HTTP protobuf', () => new ProtoLogExporter({ url: `${h.url}/v1/logs` })],
    ['HTTP JSON', () => new JsonLogExporter({ url: `${h.url}/v1/logs` })],
    ['gRPC', () => new GrpcLogExporter({ url: `http://127.0.0.1:${grpc.port}` })],
  ])('%s: records are found by LogQL with severity, trace context and attributes', async (name, exporter) => {
    const service = `otel-${name.replace(/\W/g, '').toLowerCase()}`;
    await emitWith(exporter(), service);
    const errors = await h.queryRange(`{service_name="${service}"} | level="error" | http_method="POST"`);
    expect(errors.result).toEqual([
      { stream: { service_name: service, deployment_environment: 'test', level: 'error' }, values: [[expect.stringMatching(/^\d{19}$/), 'card declined']] },
    ]);
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/logs?query=${encodeURIComponent(`{service_name="${service}"} | trace_id="${TRACE_ID}"`)}` });
    expect(res.json().data.entries).toMatchObject([
      { severity_text: 'ERROR', severity_number: 17, trace_id: TRACE_ID, span_id: SPAN_ID, request_id: `${service}-req`, attributes: { retries: 3 }, resource: { 'service.name': service } },
    ]);
    const info = await h.queryRange(`{service_name="${service}"} | json | items > 1`);
    expect(info.result.flatMap((s) => s.values.map((v) => v[1]))).toEqual(['{"event":"cart","items":2}']);
  });

  it('answers 400 to malformed protobuf and JSON and stores nothing', async () => {
    const before = await h.lineCount();
    const cases: [string, Buffer | string][] = [
      ['application/x-protobuf', Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12, 0x01])],
      ['application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff])],
      ['application/json', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}'],
      ['application/json', '{"resourceLogs":{}}'],
      ['application/json', 'nope'],
    ];
    let seed = 3;
    for (let i = 0; i < 30; i++) {
      const bytes = Buffer.from(Array.from({ length: 2 + i * 7 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
      bytes[0] = 0x0a;
      cases.push(['application/x-protobuf', bytes]);
    }
    for (const [type, payload] of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': type }, payload });
      expect(res.statusCode, `${type}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(await h.lineCount()).toBe(before);
  });

  it('rejects records with a malformed trace id as a partial success', async () => {
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partial-otlp' } }] },
          scopeLogs: [{ logRecords: [{ body: { stringValue: 'ok' } }, { body: { stringValue: 'bad' }, traceId: 'abcd' }] }],
        },
      ],
    };
    const res = await h.app.inject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    expect(res.statusCode).toBe(200);
    expect(res.json().partialSuccess).toEqual({ rejectedLogRecords: '1', errorMessage: expect.stringContaining('logRecords[1]: trace_id must be 16 bytes') });
    expect((await h.queryRange('{service_name="partial-otlp"}')).result.flatMap((s) => s.values.map((v) => v[1]))).toEqual(['ok']);
  });
});
