/**
 * The direct span encoder against the official one: the SDK's spans, read by the official serializer
 * as ReadableSpans and written by the direct encoder, decoded with the official generated codec,
 * must be the same messages, for spans with every kind of field.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Context } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeanSpan } from '../tracing/lean-span.js';
import { LeanTracerProvider } from '../tracing/lean-tracer.js';
import { SpanBatch } from './otlp-encoding.js';

const require = createRequire(import.meta.url);
interface Codec {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options?: Record<string, unknown>): Record<string, unknown>;
}
const root = require(join(dirname(require.resolve('@opentelemetry/otlp-transformer/package.json')), 'build/src/generated/root.js')) as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Codec } } } } };
};
const TRACES = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
// Defaults filled in, so a zero written explicitly and a zero left out compare equal.
const decoded = (codec: Codec, bytes: Uint8Array | undefined) => codec.toObject(codec.decode(bytes!), { longs: String, bytes: String, enums: Number, defaults: true, arrays: true, oneofs: true });

const LONG_TEXT = `${'é'.repeat(100)} and ${'x'.repeat(300)}`;
const ATTRIBUTES = {
  'http.route': '/users/:id',
  status: 200,
  negative: -42,
  big: 2 ** 40,
  ratio: 0.25,
  ok: true,
  empty: '',
  unicode: 'grüße 🌍',
  long: LONG_TEXT,
  list: ['a', 'b'],
  numbers: [1, 2.5],
};

describe('OTLP span encoding', () => {
  it('writes what the official serializer writes', () => {
    const resource = resourceFromAttributes({ 'service.name': 'shop', 'service.version': '1.2.3' });
    const spans: LeanSpan[] = [];
    const provider = new LeanTracerProvider({ resource, sampleRate: 1, onEnd: (span) => spans.push(span) });
    const tracer = provider.getTracer('@watchkeeper/test', '0.1.0');
    const other = provider.getTracer('other-scope');
    const remoteParent: Context = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: new TraceState('vendor=value'),
    });
    const server = tracer.startSpan('GET /users/:id', { kind: SpanKind.SERVER, attributes: ATTRIBUTES }, remoteParent);
    server.addEvent('cache miss', { key: 'user:42', tries: 3 });
    server.recordException(new TypeError('bad input'));
    server.addLink({ context: { traceId: 'ffffffffffffffffffffffffffffffff', spanId: '0102030405060708', traceFlags: TraceFlags.NONE }, attributes: { reason: 'batch' } });
    const child = tracer.startSpan('SELECT users', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, server));
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
    child.end();
    server.end();
    other.startSpan('background job').end();
    for (let i = 0; i < 200; i++) tracer.startSpan(`span ${i}`, { attributes: { i, text: LONG_TEXT } }).end();

    const expected = decoded(TRACES, ProtobufTraceSerializer.serializeRequest(spans));
    // The writers grow past their first buffers here, and are reused for a second batch.
    const batch = new SpanBatch();
    for (const span of spans) expect(batch.add(span)).toBe(true);
    expect(decoded(TRACES, batch.take())).toEqual(expected);
    for (const span of spans.slice(0, 3)) batch.add(span);
    expect(decoded(TRACES, batch.take())).toEqual(decoded(TRACES, ProtobufTraceSerializer.serializeRequest(spans.slice(0, 3))));
  });

  it('drops a span it cannot encode and keeps the rest of the batch intact', () => {
    const spans: LeanSpan[] = [];
    const provider = new LeanTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop' }), sampleRate: 1, onEnd: (span) => spans.push(span) });
    const tracer = provider.getTracer('@watchkeeper/test');
    tracer.startSpan('before', { attributes: { n: 1 } }).end();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const broken = tracer.startSpan('broken');
    broken.addEvent('cycle', { payload: cyclic } as unknown as Attributes);
    broken.end();
    tracer.startSpan('after').end();

    const batch = new SpanBatch();
    expect(spans.map((span) => batch.add(span))).toEqual([true, false, true]);
    expect(decoded(TRACES, batch.take())).toEqual(decoded(TRACES, ProtobufTraceSerializer.serializeRequest([spans[0]!, spans[2]!])));
    expect(decoded(TRACES, batch.take())).toEqual(decoded(TRACES, new Uint8Array()));
  });
});
