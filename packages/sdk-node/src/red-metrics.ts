/**
 * http_requests_total and http_request_duration_seconds, recorded per request into plain numbers per
 * (method, route, status) series and rendered by the prom-client registry at scrape time. A
 * prom-client child still hashes its labels on every call (2.3 µs a request for the two metrics,
 * docs/benchmarks.md); here a request costs one map lookup and a bucket scan.
 */
import type { Registry } from 'prom-client';

/** Bound of the series kept (route templates keep the real count small); requests of further series are dropped and counted. */
const MAX_SERIES = 1000;

interface Series {
  readonly labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative), the last one for +Inf. */
  readonly buckets: Float64Array;
}

/** One value of prom-client's metric export format. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What a prom-client registry needs of a metric (its `get()` export and `reset()`). */
interface RegistryMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] };
  reset(): void;
}

/** RED metrics of HTTP requests, registered on `registry`. */
export class RedMetrics {
  private readonly series = new Map<string, Series>();

  constructor(
    registry: Registry,
    private readonly bounds: readonly number[],
    private readonly onSeriesLimit: () => void,
  ) {
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): RegistryMetric => ({
      name,
      help,
      type,
      aggregator: 'sum',
      get: () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => this.series.clear(),
    });
    // The registry's type says its metrics are prom-client classes, but it only calls get() and reset().
    const register = (m: RegistryMetric) => registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
    register(metric('http_requests_total', 'HTTP requests served, by route template', 'counter', () => this.counterValues()));
    register(metric('http_request_duration_seconds', 'Time to serve HTTP requests, by route template', 'histogram', () => this.histogramValues()));
  }

  /** Records one finished request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= MAX_SERIES) {
        this.onSeriesLimit();
        return;
      }
      s = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: new Float64Array(this.bounds.length + 1) };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    s.buckets[i]!++;
  }

  private counterValues(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ value: s.count, labels: s.labels }));
  }

  private histogramValues(): MetricValue[] {
    const name = 'http_request_duration_seconds';
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
    }
    return values;
  }
}
