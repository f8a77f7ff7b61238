/**
 * Watchkeeper's own metrics, in one prom-client registry served at /metrics. Components get the
 * registry and create their metrics in their constructors (once, never per request).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface SelfMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'code'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'code'>;
  readonly configReloadSuccess: Gauge;
  readonly configReloadTime: Gauge;
  readonly configReloads: Counter<'result'>;
}

export function createSelfMetrics(version: string): SelfMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  new Gauge({
    name: 'watchkeeper_build_info',
    help: 'A metric with a constant 1 value labelled by version and Node.js version.',
    labelNames: ['version', 'nodejs'],
    registers: [registry],
  }).set({ version, nodejs: process.version }, 1);
  return {
    registry,
    httpRequests: new Counter({
      name: 'watchkeeper_http_requests_total',
      help: 'HTTP requests served, by method, route template and status code.',
      labelNames: ['method', 'route', 'code'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'watchkeeper_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route template and status code.',
      labelNames: ['method', 'route', 'code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    configReloadSuccess: new Gauge({
      name: 'watchkeeper_config_last_reload_successful',
      help: 'Whether the last configuration reload attempt was successful.',
      registers: [registry],
    }),
    configReloadTime: new Gauge({
      name: 'watchkeeper_config_last_reload_success_timestamp_seconds',
      help: 'Timestamp of the last successful configuration reload.',
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'watchkeeper_config_reloads_total',
      help: 'Configuration reload attempts, by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
