/**
 * An exception recorded on a span by the OpenTelemetry JS SDK, exported over OTLP/HTTP to the
 * trace receiver, becomes an issue linked to that trace; log records with exception attributes
 * join the same issue stream.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorsHarness, project, type ErrorsHarness } from '../../test/support/errors-harness.js';
import { registerOtlpTracesRoutes } from '../ingest/otlp/traces-routes.js';
import { labelsFromRecord } from '../model/labels.js';
import { exceptionTypeName, OtelExceptionCollector } from './otel-exceptions.js';
import { parseStackTrace } from './stacktrace-text.js';

function priceOf(): never {
  throw new TypeError('price is not a number');
}

describe('OpenTelemetry exceptions', () => {
  let h: ErrorsHarness;
  let collector: OtelExceptionCollector;

  beforeAll(async () => {
    h = await createErrorsHarness([project(1, 'checkout', ['checkoutkey01']), project(2, 'billing', ['billingkey001'], { services: ['invoicer'] })]);
    const logger = pino({ level: 'silent' });
    collector = new OtelExceptionCollector({ ingestor: h.ingestor, projects: () => h.projects(), logger, registry: h.metrics.registry });
    registerOtlpTracesRoutes(h.app, { store: h.traces, logger, registry: h.metrics.registry, spanMetrics: collector });
    await h.listen();
  });
  afterAll(async () => {
    await h.close();
  });

  it('turns an exception recorded on a span into an issue linked to the trace', async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.4.0', 'deployment.environment.name': 'prod' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${h.url}/v1/traces` }))],
    });
    const tracer = provider.getTracer('test');
    const traceIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const span = tracer.startSpan('POST /cart');
      try {
        priceOf();
      } catch (err) {
        span.recordException(err as Error);
      }
      traceIds.push(span.spanContext().traceId);
      span.end();
    }
    const other = tracer.startSpan('unmatched');
    other.recordException(new RangeError('other'));
    other.end();
    await provider.forceFlush();
    await provider.shutdown();
    await collector.flush();
    const page = await h.store.listIssues({ projectId: 1, sort: 'count', limit: 10, offset: 0 });
    expect(page.issues).toHaveLength(2);
    const issue = page.issues.find((i) => i.type === 'TypeError')!;
    expect(issue).toMatchObject({ title: 'TypeError: price is not a number', count: 2, lastRelease: '2.4.0', culprit: 'POST /cart' });
    const detail = await h.store.issueDetail(issue.id, Date.now(), 1);
    const event = detail!.latestEvent!.event;
    expect(traceIds).toContain(event.traceId);
    expect(event.environment).toBe('prod');
    expect(event.exceptions[0]!.frames.some((f) => f.function === 'priceOf' && f.inApp)).toBe(true);
    expect((await h.traces.trace(event.traceId)).map((s) => s.name)).toEqual(['POST /cart']);
  });

  it('groups exception log records by the service mapping and skips services without a project', async () => {
    const record = (service: string, message: string) => ({
      timeNs: BigInt(Date.now()) * 1_000_000n,
      observedNs: BigInt(Date.now()) * 1_000_000n,
      service,
      level: 'error',
      severityText: 'ERROR',
      severity: 17,
      body: `failed: ${message}`,
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      requestId: '',
      stream: labelsFromRecord({ service_name: service }),
      attributes: { 'exception.type': 'InvoiceError', 'exception.message': message, 'exception.stacktrace': 'Traceback (most recent call last):\n  File "billing/invoice.py", line 12, in render\nInvoiceError: x' },
      resource: { 'service.name': service },
    });
    collector.observeLogs([record('invoicer', 'total mismatch for 4111111111111111'), record('invoicer', 'total mismatch for 17'), record('nobody', 'x')]);
    await collector.flush();
    const page = await h.store.listIssues({ projectId: 2, sort: 'count', limit: 10, offset: 0 });
    expect(page.issues.map((i) => [i.title, i.count])).toEqual([['InvoiceError: total mismatch for [Filtered]', 2]]);
    expect(await h.metrics.registry.getSingleMetricAsString('watchkeeper_error_otel_unmatched_total')).toMatch(/source="log"} 1/);
  });

  it('parses V8, Python and JVM stack traces innermost last', () => {
    const v8 = parseStackTrace('TypeError: x\n    at priceOf (/app/src/cart.js:3:9)\n    at async Router.handle (/app/node_modules/express/router.js:10:2)\n    at node:internal/main:1:1');
    expect(v8.map((f) => [f.function, f.inApp])).toEqual([
      ['', false],
      ['Router.handle', false],
      ['priceOf', true],
    ]);
    const py = parseStackTrace('Traceback (most recent call last):\n  File "/usr/lib/python3/site-packages/flask/app.py", line 10, in wsgi\n  File "/srv/shop/views.py", line 5, in cart\nKeyError: x');
    expect(py.map((f) => [f.function, f.lineno, f.inApp])).toEqual([
      ['wsgi', 10, false],
      ['cart', 5, true],
    ]);
    const jvm = parseStackTrace('java.lang.IllegalStateException: x\n\tat com.shop.Cart.total(Cart.java:42)\n\tat java.base/java.lang.Thread.run(Thread.java:833)');
    expect(jvm.map((f) => [f.module, f.function, f.inApp])).toEqual([
      ['java.base/java.lang.Thread', 'run', false],
      ['com.shop.Cart', 'total', true],
    ]);
  });

  it('names an exception recorded by its numeric code after the stack trace, and keeps named types', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(exceptionTypeName(String(timeout.code), timeout.stack ?? `${timeout.name}: ${timeout.message}`)).toBe('TimeoutError');
    expect(exceptionTypeName('23', '')).toBe('23');
    expect(exceptionTypeName('ECONNRESET', 'Error: read ECONNRESET')).toBe('ECONNRESET');
    expect(exceptionTypeName('TypeError', 'TypeError: x')).toBe('TypeError');
  });
});
