/**
 * Tracing on the OpenTelemetry JS SDK: a NodeTracerProvider registered globally (so the service's
 * and its libraries' own @opentelemetry/api usage lands in it), a SERVER span per incoming request
 * (incoming-http-spans.ts), auto-instrumentation of outgoing http, undici/fetch, Express, Fastify
 * (opt-in), pg, mysql2, redis and ioredis, and a bounded batch exporter over OTLP (HTTP protobuf by
 * default, encoded by the SDK; gRPC optional).
 */
import { context, propagation, trace } from '@opentelemetry/api';
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
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createRequire } from 'node:module';
import { CountingExporter } from './counting-exporter.js';
import { traceIncomingHttp } from './incoming-http-spans.js';
import { otlpTraceExporter } from './otlp/otlp-http-exporters.js';

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
  onDrop: (count: number) => void;
}

export interface ServiceTracing {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts the tracer provider and the instrumentations. */
export function startTracing(deps: TracingDeps): ServiceTracing {
  const spanProcessors = [];
  if (deps.url !== null) {
    const inner: SpanExporter = deps.protocol === 'grpc' ? new OtlpGrpcTraceExporter({ url: deps.url, timeoutMillis: 5000 }) : otlpTraceExporter(deps.url, 5000);
    const exporter = new CountingExporter(inner, deps.onDrop);
    spanProcessors.push(new BatchSpanProcessor(exporter, { maxQueueSize: deps.maxQueueSize, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 }));
  }
  const provider = new NodeTracerProvider({
    resource: deps.resource,
    // A ratio of 1 samples everything: AlwaysOn says so without hashing each trace id.
    sampler: new ParentBasedSampler({ root: deps.sampleRate >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(deps.sampleRate) }),
    spanProcessors,
  });
  provider.register();
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
    flush: () => provider.forceFlush(),
    async shutdown() {
      untraceIncoming();
      unregister();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
