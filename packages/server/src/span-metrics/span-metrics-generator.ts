/**
 * Span-derived RED metrics and service-graph edges, with the names and labels of Tempo's
 * metrics-generator, written into the metrics storage through the Appendable contract so PromQL,
 * dashboards and alert rules see them like any other series:
 *
 *   traces_spanmetrics_calls_total{service, span_name, span_kind, status_code}
 *   traces_spanmetrics_latency_{bucket,sum,count}{…}           (Tempo's current histogram name)
 *   traces_spanmetrics_duration_seconds_{bucket,sum,count}{…}  (its earlier name, still queried)
 *   traces_service_graph_request_total{client, server, connection_type}
 *   traces_service_graph_request_failed_total{…}
 *   traces_service_graph_request_{server,client}_seconds_{bucket,sum,count}{…}
 *
 * Values are cumulative, kept in memory and appended every `flushIntervalMs` with the flush time,
 * as Tempo's registry collects them. They restart from zero with the process (a counter reset).
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Label } from '../model/labels.js';
import { type Span, SPAN_KIND_NAMES, STATUS_CODE_NAMES } from '../model/span.js';
import type { Appendable } from '../storage/interfaces.js';
import { CumulativeFamily, HistogramTally } from './cumulative-series.js';
import { type CompletedEdge, type EdgeHalf, ServiceGraphPairer, edgeHalf } from './service-graph.js';
import { spanSeconds } from './span-seconds.js';

/** Tempo's default span-metrics buckets: 2 ms doubling 14 times (to 16.384 s). */
export const SPAN_METRICS_BUCKETS: readonly number[] = Array.from({ length: 14 }, (_, i) => 0.002 * 2 ** i);
/** Tempo's default service-graph buckets: 100 ms doubling 8 times (to 12.8 s). */
export const SERVICE_GRAPH_BUCKETS: readonly number[] = Array.from({ length: 8 }, (_, i) => 0.1 * 2 ** i);

export interface SpanMetricsGeneratorOptions {
  readonly appendable: Appendable;
  readonly logger: Logger;
  /** Registry for the watchkeeper_span_metrics_* self metrics. */
  readonly registry: Registry;
  /** How often the cumulative values are appended. Default 15 s. */
  readonly flushIntervalMs?: number;
  /** How long an unpaired client or server span waits for its other half. Default 10 s (Tempo's). */
  readonly serviceGraphWaitMs?: number;
  /** Unpaired spans held at most. Default 10,000 (Tempo's). */
  readonly serviceGraphMaxItems?: number;
  /** Label combinations tracked per family at most. Default 10,000. */
  readonly maxSeries?: number;
  /** Series not updated for this long are no longer appended. Default 15 min (Tempo's stale duration). */
  readonly staleMs?: number;
  /** Clock in Unix ms. */
  readonly now?: () => number;
}

interface SelfMetrics {
  readonly spans: Counter;
  readonly droppedSeries: Counter;
  readonly droppedEdges: Counter;
  readonly expiredEdges: Counter;
  readonly series: Gauge;
}

const selfMetricsByRegistry = new WeakMap<Registry, SelfMetrics>();

function selfMetrics(registry: Registry): SelfMetrics {
  const existing = selfMetricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: SelfMetrics = {
    spans: new Counter({ name: 'watchkeeper_span_metrics_spans_total', help: 'Spans observed by the span-metrics generator.', registers }),
    droppedSeries: new Counter({
      name: 'watchkeeper_span_metrics_dropped_observations_total',
      help: 'Span observations dropped because the series limit was reached.',
      registers,
    }),
    droppedEdges: new Counter({
      name: 'watchkeeper_service_graph_dropped_spans_total',
      help: 'Client/server spans not paired because the service-graph store was full.',
      registers,
    }),
    expiredEdges: new Counter({ name: 'watchkeeper_service_graph_expired_edges_total', help: 'Service-graph halves that expired unpaired.', registers }),
    series: new Gauge({ name: 'watchkeeper_span_metrics_series', help: 'Label combinations tracked by the span-metrics generator.', registers }),
  };
  selfMetricsByRegistry.set(registry, m);
  return m;
}

/** A label combination of the span metrics: its key in the families and its labels. */
interface Combination {
  readonly key: string;
  readonly labels: () => Label[];
}

/** Bounds of the combination cache (services, then span names per service); beyond them it starts over. */
const MAX_CACHED_SERVICES = 1000;
const MAX_CACHED_NAMES = 10_000;

export class SpanMetricsGenerator {
  /** Combinations by service, then span name; then by kind × status. */
  private readonly combinations = new Map<string, Map<string, (Combination | undefined)[]>>();
  private readonly calls: CumulativeFamily;
  private readonly latency: CumulativeFamily;
  private readonly edgeTotal: CumulativeFamily;
  private readonly edgeFailed: CumulativeFamily;
  private readonly edgeServer: CumulativeFamily;
  private readonly edgeClient: CumulativeFamily;
  private readonly families: readonly CumulativeFamily[];
  private readonly pairer: ServiceGraphPairer;
  private readonly now: () => number;
  private readonly self: SelfMetrics;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastExpired = 0;
  private lastDropped = 0;

  constructor(private readonly opts: SpanMetricsGeneratorOptions) {
    const max = opts.maxSeries ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.self = selfMetrics(opts.registry);
    this.log = opts.logger.child({ component: 'span-metrics' });
    this.calls = new CumulativeFamily({ names: ['traces_spanmetrics_calls_total'], kind: 'counter', help: 'Spans received, by service, span name, kind and status.' }, max);
    this.latency = new CumulativeFamily(
      {
        names: ['traces_spanmetrics_latency', 'traces_spanmetrics_duration_seconds'],
        kind: 'histogram',
        help: 'Span durations in seconds, by service, span name, kind and status.',
        bounds: SPAN_METRICS_BUCKETS,
      },
      max,
    );
    this.edgeTotal = new CumulativeFamily({ names: ['traces_service_graph_request_total'], kind: 'counter', help: 'Requests between two services.' }, max);
    this.edgeFailed = new CumulativeFamily({ names: ['traces_service_graph_request_failed_total'], kind: 'counter', help: 'Failed requests between two services.' }, max);
    this.edgeServer = new CumulativeFamily(
      { names: ['traces_service_graph_request_server_seconds'], kind: 'histogram', help: 'Server-side latency of requests between two services.', bounds: SERVICE_GRAPH_BUCKETS },
      max,
    );
    this.edgeClient = new CumulativeFamily(
      { names: ['traces_service_graph_request_client_seconds'], kind: 'histogram', help: 'Client-side latency of requests between two services.', bounds: SERVICE_GRAPH_BUCKETS },
      max,
    );
    this.families = [this.calls, this.latency, this.edgeTotal, this.edgeFailed, this.edgeServer, this.edgeClient];
    this.pairer = new ServiceGraphPairer({
      waitMs: opts.serviceGraphWaitMs ?? 10_000,
      maxItems: opts.serviceGraphMaxItems ?? 10_000,
      onEdge: (edge) => this.recordEdge(edge),
    });
  }

  /** Counts spans (after they are stored) into the span metrics and the service graph. */
  observe(spans: readonly Span[]): void {
    this.prepare(spans)();
  }

  /**
   * Tallies spans by label combination (count, duration sum and buckets) and takes their
   * service-graph halves, leaving the cumulative values untouched; the returned step adds them
   * (once the spans are stored). A request's tally is small, so its spans need not be kept.
   */
  prepare(spans: readonly Span[]): () => void {
    const tallies = new Map<Combination, HistogramTally>();
    const halves: EdgeHalf[] = [];
    for (const s of spans) {
      const c = this.combination(s);
      let t = tallies.get(c);
      if (t === undefined) {
        t = new HistogramTally(SPAN_METRICS_BUCKETS);
        tallies.set(c, t);
      }
      t.add(spanSeconds(s));
      const half = edgeHalf(s);
      if (half !== null) halves.push(half);
    }
    const count = spans.length;
    return () => {
      const nowMs = this.now();
      let dropped = 0;
      for (const [c, t] of tallies) {
        if (!this.calls.observe(c.key, c.labels, t.count, nowMs)) dropped += t.count;
        this.latency.observeTally(c.key, c.labels, t, nowMs);
      }
      for (const h of halves) this.pairer.observeHalf(h, nowMs);
      this.self.spans.inc(count);
      if (dropped > 0) this.self.droppedSeries.inc(dropped);
    };
  }

  /**
   * The series key and label builder of a span's (service, name, kind, status), cached: span names
   * and services repeat (and are interned by the decoder), so no key is built per span.
   */
  private combination(s: Span): Combination {
    let byName = this.combinations.get(s.service);
    if (byName === undefined) {
      if (this.combinations.size >= MAX_CACHED_SERVICES) this.combinations.clear();
      byName = new Map();
      this.combinations.set(s.service, byName);
    }
    let byKindStatus = byName.get(s.name);
    if (byKindStatus === undefined) {
      if (byName.size >= MAX_CACHED_NAMES) byName.clear();
      byKindStatus = [];
      byName.set(s.name, byKindStatus);
    }
    const slot = s.kind * STATUS_CODE_NAMES.length + s.statusCode;
    let c = byKindStatus[slot];
    if (c === undefined) {
      const { service, name } = s;
      const kind = SPAN_KIND_NAMES[s.kind] ?? SPAN_KIND_NAMES[0];
      const status = STATUS_CODE_NAMES[s.statusCode] ?? STATUS_CODE_NAMES[0];
      c = {
        key: `${service}\xff${name}\xff${s.kind}\xff${s.statusCode}`,
        labels: () => [
          { name: 'service', value: service },
          { name: 'span_kind', value: kind },
          { name: 'span_name', value: name },
          { name: 'status_code', value: status },
        ],
      };
      byKindStatus[slot] = c;
    }
    return c;
  }

  private recordEdge(e: CompletedEdge): void {
    const nowMs = this.now();
    const key = `${e.client}\xff${e.server}\xff${e.connectionType}`;
    const labels = (): Label[] => {
      const out: Label[] = [
        { name: 'client', value: e.client },
        { name: 'server', value: e.server },
      ];
      if (e.connectionType !== '') out.push({ name: 'connection_type', value: e.connectionType });
      return out;
    };
    this.edgeTotal.observe(key, labels, 1, nowMs);
    if (e.failed) this.edgeFailed.observe(key, labels, 1, nowMs);
    this.edgeServer.observe(key, labels, e.serverSeconds, nowMs);
    this.edgeClient.observe(key, labels, e.clientSeconds, nowMs);
  }

  /** Starts the periodic flush. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 15_000);
    this.timer.unref();
  }

  /** Stops the periodic flush and appends the final values. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Expires unpaired edges, then appends every tracked series at the current time and commits. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.doFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const nowMs = this.now();
    this.pairer.expire(nowMs);
    this.self.expiredEdges.inc(this.pairer.expired - this.lastExpired);
    this.self.droppedEdges.inc(this.pairer.dropped - this.lastDropped);
    this.lastExpired = this.pairer.expired;
    this.lastDropped = this.pairer.dropped;
    const cutoff = nowMs - (this.opts.staleMs ?? 15 * 60_000);
    let seriesCount = 0;
    for (const f of this.families) {
      f.dropIdle(cutoff);
      seriesCount += f.size;
    }
    this.self.series.set(seriesCount);
    if (seriesCount === 0) return;
    const app = this.opts.appendable.appender();
    let rejected = 0;
    try {
      for (const f of this.families) {
        f.describe(app);
        rejected += f.appendTo(app, nowMs);
      }
    } catch (err) {
      app.rollback();
      this.log.error({ err }, 'span metrics flush failed');
      return;
    }
    try {
      await app.commit();
    } catch (err) {
      this.log.error({ err }, 'span metrics commit failed');
      return;
    }
    if (rejected > 0) this.log.warn({ rejected }, 'span metrics samples rejected by the metrics storage');
  }
}
