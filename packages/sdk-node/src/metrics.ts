/** prom-client metrics of the service: RED metrics, SDK self-metrics, user metrics, the /metrics handler. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bound of the per-series cache of RED metric children (route templates keep the real count small). */
const MAX_CACHED_SERIES = 1000;

/** Options of a user metric. */
export interface MetricOptions<L extends string> {
  help?: string;
  labelNames?: readonly L[];
}

/** The service's metrics registry and helpers; metrics are created once and returned again by name. */
export class ServiceMetrics {
  /** The registry served at /metrics (not prom-client's global one, so the host's stays its own). */
  readonly registry = new Registry();
  /** http_requests_total{method,route,status}. */
  readonly requests: Counter<'method' | 'route' | 'status'>;
  /** http_request_duration_seconds{method,route,status}. */
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly requestSeries = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>();
  /** Telemetry the SDK dropped instead of growing memory or blocking the host. */
  readonly dropped: Counter<'signal' | 'reason'>;

  constructor(opts: { defaultMetrics: boolean; buckets: number[] }) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests served, by route template', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to serve HTTP requests, by route template',
      labelNames: ['method', 'route', 'status'],
      buckets: opts.buckets,
      registers: [this.registry],
    });
    this.dropped = new Counter({ name: 'watchkeeper_sdk_dropped_total', help: 'Telemetry items the SDK dropped (queue full, export failed, sampled out, ...)', labelNames: ['signal', 'reason'], registers: [this.registry] });
  }

  counter<L extends string = string>(name: string, opts: MetricOptions<L> = {}): Counter<L> {
    return (this.registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help: opts.help ?? name, labelNames: opts.labelNames ?? [], registers: [this.registry] });
  }

  gauge<L extends string = string>(name: string, opts: MetricOptions<L> = {}): Gauge<L> {
    return (this.registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge<L>({ name, help: opts.help ?? name, labelNames: opts.labelNames ?? [], registers: [this.registry] });
  }

  histogram<L extends string = string>(name: string, opts: MetricOptions<L> & { buckets?: number[] } = {}): Histogram<L> {
    return (
      (this.registry.getSingleMetric(name) as Histogram<L> | undefined) ??
      new Histogram<L>({ name, help: opts.help ?? name, labelNames: opts.labelNames ?? [], registers: [this.registry], ...(opts.buckets ? { buckets: opts.buckets } : {}) })
    );
  }

  /** Records one finished HTTP request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    // Label children are looked up once per (method, route, status): prom-client hashes labels otherwise.
    const key = `${method} ${status} ${route}`;
    let series = this.requestSeries.get(key);
    if (series === undefined) {
      const labels = { method, route, status: String(status) };
      series = { count: this.requests.labels(labels), duration: this.duration.labels(labels) };
      if (this.requestSeries.size < MAX_CACHED_SERIES) this.requestSeries.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  /** Renders the registry in the Prometheus text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A node:http handler serving the registry. */
  readonly handler = (_req: IncomingMessage, res: ServerResponse): void => {
    this.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(err)}`),
    );
  };
}
