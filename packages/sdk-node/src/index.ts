/** @watchkeeper/node: one call instruments a Node service for logs, metrics, traces, errors and health. */
export { init, type Watchkeeper } from './init.js';
export type { InitOptions, TracingOptions, LoggingOptions, MetricsOptions, ErrorsOptions, HttpOptions, HealthCheckFn } from './options.js';
export type { CaptureContext } from './errors/error-reporter.js';
export type { ErrorEvent, Breadcrumb, User, StackFrame } from './errors/event.js';
export { parseDsn } from './errors/envelope-sender.js';
export type { HealthOptions, HealthCheck, HealthService, ComponentStatus } from './health.js';
export type { ServiceMetrics, MetricOptions } from './metrics.js';
export type { RouteOf } from './middleware/node-http.js';
export { requestStore, type RequestContext, type RequestStore } from './request-context.js';
