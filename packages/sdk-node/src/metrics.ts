/** prom-client metrics of the service: RED metrics, SDK self-metrics, user metrics, the /metrics handler. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RedMetrics } from './red-metrics.js';

/** Options of a user metric. */
export interface MetricOptions<L extends string> {
  help?: string;
  labelNames?: readonly L[];
}

/** The service's metrics registry and helpers; metrics are created once and returned again by name. */
export class ServiceMetrics {
  /** The registry served at /metrics (not prom-client's global one, so the host's stays its own). */
  readonly registry = new Registry();
  /** http_requests_total and http_request_duration_seconds {method,route,status}. */
  private readonly red: RedMetrics;
  /** Telemetry the SDK dropped instead of growing memory or blocking the host. */
  readonly dropped: Counter<'signal' | 'reason'>;

  constructor(opts: { defaultMetrics: boolean; buckets: number[] }) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.dropped = new Counter({ name: 'watchkeeper_sdk_dropped_total', help: 'Telemetry items the SDK dropped (queue full, export failed, sampled out, ...)', labelNames: ['signal', 'reason'], registers: [this.registry] });
    this.red = new RedMetrics(this.registry, opts.buckets, () => this.dropped.inc({ signal: 'metrics', reason: 'series_limit' }));
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
    this.red.observe(method, route, status, seconds);
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
