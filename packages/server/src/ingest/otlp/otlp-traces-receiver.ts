/**
 * The protocol-independent part of OTLP trace ingestion, shared by OTLP/HTTP and OTLP/gRPC:
 * sample by trace id, store (durable before the answer), then feed the span metrics and the other
 * observers of stored spans, and count.
 * Span metrics see every valid span, sampled out or not, so RED metrics stay exact under
 * sampling; they are fed only after the store accepted the request, so a retried request is
 * not counted twice.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { DEFAULT_REQUEST_ID_ATTRIBUTES, type Span } from '../../model/span.js';
import type { TraceStore } from '../../storage/trace-store.js';
import { StringInterner } from '../protobuf/string-interner.js';
import type { PartialSuccess } from './otlp-responses.js';
import type { OtlpProtocol } from './otlp-metrics-receiver.js';
import type { Rejections } from '../rejections.js';
import type { DecodedTraces, TraceDecodeOptions } from './traces-model.js';

/** Something that derives metrics from stored spans (the SpanMetricsGenerator). */
export interface SpanObserver {
  observe(spans: readonly Span[]): void;
  /**
   * Optional two-phase form of observe: takes what it needs from the spans before they are stored
   * and returns the step that counts it once they are durable (not called if storing fails). The
   * receiver then holds no span objects while the commit is pending.
   */
  prepare?(spans: readonly Span[]): () => void;
}

/** The deferred observe step of `o` for `spans`. */
function prepared(o: SpanObserver, spans: readonly Span[]): () => void {
  return o.prepare ? o.prepare(spans) : () => o.observe(spans);
}

/** Probabilistic sampling, consistent by trace id: a trace is kept or dropped whole. */
export interface TraceSampling {
  /** Fraction of traces kept for services not listed, 0..1. Default 1 (keep everything). */
  readonly defaultRate?: number;
  /** Fraction kept per service name (the span's resource service.name), 0..1. */
  readonly perService?: Readonly<Record<string, number>>;
}

export interface OtlpTracesDeps {
  readonly store: Pick<TraceStore, 'append'>;
  readonly logger: Logger;
  /** Registry for the watchkeeper_ingest_spans_* metrics. */
  readonly registry: Registry;
  /** Sees every valid span, sampled out or not (span metrics stay exact under sampling). */
  readonly spanMetrics?: SpanObserver | null;
  /** See the spans stored, after they are durable (e.g. the OpenTelemetry exception collector). */
  readonly storedObservers?: readonly SpanObserver[];
  /** An extra attribute name carrying the request id, tried before the defaults. */
  readonly requestIdAttribute?: string;
  readonly sampling?: TraceSampling;
}

interface SpanIngestMetrics {
  readonly spans: Counter<'protocol'>;
  readonly rejected: Counter<'protocol' | 'reason'>;
  readonly sampledOut: Counter<'protocol'>;
  readonly requests: Counter<'protocol' | 'code'>;
}

const metricsByRegistry = new WeakMap<Registry, SpanIngestMetrics>();

function spanIngestMetrics(registry: Registry): SpanIngestMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: SpanIngestMetrics = {
    spans: new Counter({ name: 'watchkeeper_ingest_spans_total', help: 'Spans stored from OTLP, by protocol.', labelNames: ['protocol'], registers }),
    rejected: new Counter({
      name: 'watchkeeper_ingest_rejected_spans_total',
      help: 'Spans rejected as invalid, by protocol and reason.',
      labelNames: ['protocol', 'reason'],
      registers,
    }),
    sampledOut: new Counter({ name: 'watchkeeper_ingest_sampled_out_spans_total', help: 'Valid spans not stored because of trace sampling.', labelNames: ['protocol'], registers }),
    requests: new Counter({
      name: 'watchkeeper_ingest_trace_requests_total',
      help: 'OTLP trace export requests answered, by protocol and status code.',
      labelNames: ['protocol', 'code'],
      registers,
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** 2^52: trace ids are compared by their low 52 bits, random in W3C trace ids. */
const SAMPLE_SPACE = 4503599627370496;

/** True when a trace with this id is kept at `rate` (0..1), the same answer for every span of it. */
export function keepTrace(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return Number.parseInt(traceId.slice(19), 16) < rate * SAMPLE_SPACE;
}

export class OtlpTracesReceiver {
  /** What the decoders need: the request-id attribute names in order. */
  readonly decodeOptions: TraceDecodeOptions;
  private readonly metrics: SpanIngestMetrics;
  private readonly log: Logger;

  constructor(private readonly deps: OtlpTracesDeps) {
    const configured = deps.requestIdAttribute;
    this.decodeOptions = {
      requestIdAttributes: configured ? [configured, ...DEFAULT_REQUEST_ID_ATTRIBUTES.filter((n) => n !== configured)] : DEFAULT_REQUEST_ID_ATTRIBUTES,
      interner: new StringInterner(),
    };
    this.metrics = spanIngestMetrics(deps.registry);
    this.log = deps.logger.child({ component: 'otlp-traces' });
  }

  /**
   * Stores the decoded spans that sampling keeps; resolves once durable with the partial success
   * to report. Rejects with the store's StoreOverloadedError or StoreClosedError.
   */
  export(decoded: DecodedTraces, protocol: OtlpProtocol): Promise<PartialSuccess> {
    // Not an async function: after the store has built its rows and the observers have taken what
    // they need, nothing here refers to the span objects while the commit is pending.
    let stored: Promise<void>;
    let finish: () => PartialSuccess;
    try {
      const kept = this.sample(decoded.spans);
      stored = this.deps.store.append(kept);
      const deferred: (() => void)[] = [];
      if (this.deps.spanMetrics) deferred.push(prepared(this.deps.spanMetrics, decoded.spans));
      if (kept.length > 0) for (const o of this.deps.storedObservers ?? []) deferred.push(prepared(o, kept));
      const total = decoded.spans.length;
      const keptCount = kept.length;
      const rejections = decoded.rejections;
      finish = () => {
        for (const step of deferred) step();
        return this.finish(protocol, total, keptCount, rejections);
      };
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return stored.then(finish);
  }

  private finish(protocol: OtlpProtocol, total: number, kept: number, rejections: Rejections): PartialSuccess {
    this.metrics.spans.inc({ protocol }, kept);
    if (kept < total) this.metrics.sampledOut.inc({ protocol }, total - kept);
    for (const [reason, n] of rejections.byReason) this.metrics.rejected.inc({ protocol, reason }, n);
    if (rejections.total === 0) return { rejected: 0, message: '' };
    this.log.warn({ protocol, rejected: rejections.total, first: rejections.firstMessage }, 'OTLP spans rejected');
    return { rejected: rejections.total, message: rejections.summary('spans') };
  }

  countRequest(protocol: OtlpProtocol, code: string): void {
    this.metrics.requests.inc({ protocol, code });
  }

  private sample(spans: Span[]): Span[] {
    const sampling = this.deps.sampling;
    if (sampling === undefined) return spans;
    const defaultRate = sampling.defaultRate ?? 1;
    const perService = sampling.perService ?? {};
    if (defaultRate >= 1 && Object.keys(perService).length === 0) return spans;
    return spans.filter((s) => keepTrace(s.traceId, perService[s.service] ?? defaultRate));
  }
}
