/**
 * The SDK's TracerProvider, registered as the global one so that the service's and its libraries'
 * `@opentelemetry/api` tracers create `LeanSpan`s. Sampling is the OpenTelemetry SDK's default
 * (parent-based, a trace-id ratio for roots); ended spans go to one callback (the export queue).
 */
import {
  context as contextApi,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
} from '@opentelemetry/api';
import { isTracingSuppressed, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { randomFillSync } from 'node:crypto';
import { epochMs, LeanSpan, nowMs, type OnSpanEnd } from './lean-span.js';

const ID_POOL_BYTES = 4096;
const ZERO_SPAN_ID = '0000000000000000';
const ZERO_TRACE_ID = '00000000000000000000000000000000';

/** Random ids in hex, cut from a pooled buffer refilled 4 KiB at a time (one system call for ~200 spans). */
class IdPool {
  private readonly pool = Buffer.allocUnsafe(ID_POOL_BYTES);
  private offset = ID_POOL_BYTES;

  private next(bytes: number): string {
    if (this.offset + bytes > ID_POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const id = this.pool.toString('hex', this.offset, this.offset + bytes);
    this.offset += bytes;
    return id;
  }

  spanId(): string {
    const id = this.next(8);
    return id === ZERO_SPAN_ID ? this.spanId() : id;
  }

  traceId(): string {
    const id = this.next(16);
    return id === ZERO_TRACE_ID ? this.traceId() : id;
  }
}

/** Whether a new root trace is sampled: all, none, or the OpenTelemetry SDK's TraceIdRatioBased test. */
function rootSampler(ratio: number): (traceId: string) => boolean {
  if (ratio >= 1) return () => true;
  if (ratio <= 0) return () => false;
  const upperBound = Math.floor(ratio * 0xffffffff);
  return (traceId) => {
    let accumulation = 0;
    for (let i = 0; i < traceId.length; i += 8) accumulation = (accumulation ^ parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
    return accumulation < upperBound;
  };
}

/** Settings shared by every tracer of the provider. */
interface TracerSettings {
  resource: Resource;
  ids: IdPool;
  sampleRoot: (traceId: string) => boolean;
  onEnd: OnSpanEnd;
}

/** A tracer of one instrumentation scope. */
export class LeanTracer implements Tracer {
  constructor(
    private readonly settings: TracerSettings,
    private readonly scope: InstrumentationScope,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parent = options.root ? undefined : trace.getSpanContext(ctx);
    const { ids } = this.settings;
    const spanId = ids.spanId();
    let spanContext: SpanContext;
    let sampled: boolean;
    let validParent: SpanContext | undefined;
    if (parent !== undefined && trace.isSpanContextValid(parent)) {
      validParent = parent;
      sampled = (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
      spanContext = { traceId: parent.traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, traceState: parent.traceState };
    } else {
      const traceId = ids.traceId();
      sampled = this.settings.sampleRoot(traceId);
      spanContext = { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE };
    }
    if (!sampled) return trace.wrapSpanContext(spanContext);
    const startMs = options.startTime === undefined ? nowMs() : epochMs(options.startTime);
    const span = new LeanSpan(spanContext, name, options.kind ?? SpanKind.INTERNAL, validParent, startMs, this.settings.resource, this.scope, this.settings.onEnd);
    if (options.attributes !== undefined) span.setAttributes(options.attributes);
    if (options.links !== undefined) span.addLinks(options.links);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a?: SpanOptions | F, b?: Context | F, c?: F): ReturnType<F> {
    const fn = (c ?? (typeof b === 'function' ? b : a)) as F;
    const options = typeof a === 'object' ? a : undefined;
    const parent = typeof b === 'object' ? b : contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

/** The provider: one tracer per scope, all feeding `onEnd`. */
export class LeanTracerProvider implements TracerProvider {
  private readonly settings: TracerSettings;
  private readonly tracers = new Map<string, LeanTracer>();

  constructor(opts: { resource: Resource; sampleRate: number; onEnd: OnSpanEnd }) {
    this.settings = { resource: opts.resource, ids: new IdPool(), sampleRoot: rootSampler(opts.sampleRate), onEnd: opts.onEnd };
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let tracer = this.tracers.get(key);
    if (tracer === undefined) {
      tracer = new LeanTracer(this.settings, { name, version, schemaUrl: options?.schemaUrl });
      this.tracers.set(key, tracer);
    }
    return tracer;
  }
}
