/**
 * Tracing: the SDK's lean TracerProvider registered globally (so the service's and its libraries'
 * own @opentelemetry/api usage lands in it) with the W3C propagators and the SDK's one context
 * manager, a SERVER span per incoming request (incoming-http-spans.ts), auto-instrumentation of
 * outgoing http, undici/fetch, Express, Fastify (opt-in), pg, mysql2, redis and ioredis, and a
 * bounded batch export over OTLP (HTTP protobuf by default, encoded by the SDK as spans end; gRPC optional).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Resource } from '@opentelemetry/resources';
import { createRequire } from 'node:module';
import { traceIncomingHttp } from './incoming-http-spans.js';
import { ExportQueue, ItemBatch } from './otlp/export-queue.js';
import { SpanBatch } from './otlp/otlp-encoding.js';
import { otlpTraceExporter } from './otlp/otlp-http-exporters.js';
import { contextManager } from './request-context.js';
import type { LeanSpan } from './tracing/lean-span.js';
import { LeanTracerProvider } from './tracing/lean-tracer.js';

export interface TracingDeps {
  resource: Resource;
  url: string | null;
  protocol: 'http/protobuf' | 'grpc';
  sampleRate: number;
  maxQueueSize: number;
  /** A span per Fastify hook and handler (@fastify/otel); off by default for its cost. */
  fastifyHookSpans: boolean;
  /** Paths whose incoming requests get no span (health, metrics). */
  ignoreIncoming: (path: string) => boolean;
  onDrop: (reason: 'queue_full' | 'export_failed' | 'unencodable', count: number) => void;
}

export interface ServiceTracing {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts the tracer provider and the instrumentations. */
export function startTracing(deps: TracingDeps): ServiceTracing {
  const batching = { maxQueueSize: deps.maxQueueSize, maxBatchSize: 512, delayMs: 1000, onDrop: deps.onDrop };
  const spans =
    deps.url === null
      ? null
      : deps.protocol === 'grpc'
        ? new ExportQueue({ batch: new ItemBatch<LeanSpan>(), exporter: new OtlpGrpcTraceExporter({ url: deps.url, timeoutMillis: 5000 }), ...batching })
        : new ExportQueue({ batch: new SpanBatch(), exporter: otlpTraceExporter(deps.url, 5000), ...batching });
  const provider = new LeanTracerProvider({ resource: deps.resource, sampleRate: deps.sampleRate, onEnd: spans ? (span) => spans.push(span) : () => {} });
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Incoming requests are traced by traceIncomingHttp below, outgoing ones here.
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
      new UndiciInstrumentation(),
      new ExpressInstrumentation(),
      ...(deps.fastifyHookSpans ? [new FastifyOtelInstrumentation({ registerOnInitialization: true })] : []),
      new PgInstrumentation(),
      new MySQL2Instrumentation(),
      new RedisInstrumentation(),
      new IORedisInstrumentation(),
    ],
  });
  // ESM `import http from 'node:http'` never passes through require(): requiring the built-ins once
  // here lets the instrumentation patch the shared module objects (Server.prototype.emit included).
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  const untraceIncoming = traceIncomingHttp(provider.getTracer('@watchkeeper/node'), deps.ignoreIncoming);
  return {
    flush: async () => spans?.flush(),
    async shutdown() {
      untraceIncoming();
      unregister();
      await spans?.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
