/** Options of `init()` and their resolution against the standard environment variables. */
import type { DestinationStream } from 'pino';
import type { ErrorEvent } from './errors/event.js';

/** A dependency check: resolves (or returns) when healthy, throws or returns false when not. */
export type HealthCheckFn = () => unknown;

/** Options of `init()`. Every section can be switched off with `false`. */
export interface InitOptions {
  /** Service name (`service.name`, the `service` log field, the error `server_name`). */
  service: string;
  version?: string;
  environment?: string;
  /** Watchkeeper base URL (OTLP goes to `<endpoint>/v1/traces` and `/v1/logs`). Default: WATCHKEEPER_URL. */
  endpoint?: string;
  /** Sentry DSN for errors (Watchkeeper or Sentry). Default: WATCHKEEPER_DSN, then SENTRY_DSN. */
  dsn?: string;
  tracing?: false | TracingOptions;
  logging?: false | LoggingOptions;
  metrics?: false | MetricsOptions;
  errors?: false | ErrorsOptions;
  http?: HttpOptions;
  /** Upper bound of `shutdown()` (milliseconds, default 5000). */
  shutdownTimeoutMs?: number;
  /** Environment to read (default process.env); tests pass their own. */
  env?: Record<string, string | undefined>;
}

export interface TracingOptions {
  /** Head sampling ratio for new traces, 0..1 (default OTEL_TRACES_SAMPLER_ARG or 1). */
  sampleRate?: number;
  /** OTLP transport (default OTEL_EXPORTER_OTLP_PROTOCOL or http/protobuf). */
  protocol?: 'http/protobuf' | 'grpc';
  /** Spans kept waiting for export; beyond it new spans are dropped (default 2048). */
  maxQueueSize?: number;
  /**
   * A span per Fastify hook and handler (@fastify/otel). Off by default: it costs several times the
   * request span (see docs/benchmarks.md), and the request span is named by route without it.
   */
  fastifyHookSpans?: boolean;
}

export interface LoggingOptions {
  /** Minimum level (default LOG_LEVEL or info). */
  level?: string;
  /** Where JSON lines go (default stdout). */
  destination?: DestinationStream;
  /** Also write to a rotating file (pino-roll). */
  file?: { path: string; size?: string; frequency?: 'daily' | 'hourly' | number; keep?: number };
  /** Ship log records to the OTLP endpoint (default true when an endpoint is known). */
  ship?: boolean;
  /** Log records kept waiting for export (default 2048). */
  maxQueueSize?: number;
  /** Log one line per finished request (default true). */
  accessLog?: boolean;
  /**
   * Also ship the access lines over OTLP (default false: each one repeats what the request's span
   * and the RED metrics already carry, and shipping it costs about as much as the span).
   */
  shipAccessLog?: boolean;
}

export interface MetricsOptions {
  /** Collect prom-client's process and runtime metrics (default true). */
  defaultMetrics?: boolean;
  /** Buckets of http_request_duration_seconds. */
  buckets?: number[];
}

export interface ErrorsOptions {
  /** Fraction of error events sent, 0..1 (default 1). */
  sampleRate?: number;
  /** Last chance to change or drop (return null) an event; runs after scrubbing. */
  beforeSend?: (event: ErrorEvent) => ErrorEvent | null;
  /** Errors whose type or message matches are not sent. */
  ignoreErrors?: (string | RegExp)[];
  /** Extra field names to scrub besides the defaults. */
  scrubFields?: string[];
  /** Capture uncaught exceptions and unhandled rejections, then exit (default true). */
  captureUncaught?: boolean;
  /** Events waiting to be sent (default 100). */
  maxQueueSize?: number;
  /** Breadcrumbs kept (default 100). */
  maxBreadcrumbs?: number;
}

export interface HttpOptions {
  /** Paths not measured nor logged (health, metrics and docs paths are always excluded). */
  excludePaths?: (string | RegExp)[];
  /** Path of the Prometheus handler (default /metrics). */
  metricsPath?: string;
  /** Base path of the health endpoints (default /healthz). */
  healthPath?: string;
}

/** Options with defaults and environment applied. */
export interface ResolvedOptions {
  service: string;
  version: string;
  environment: string;
  tracesUrl: string | null;
  logsUrl: string | null;
  otlpProtocol: 'http/protobuf' | 'grpc';
  dsn: string | null;
  tracing: Required<Omit<TracingOptions, 'protocol'>> | null;
  logging: (LoggingOptions & { level: string; ship: boolean; maxQueueSize: number; accessLog: boolean; shipAccessLog: boolean }) | null;
  metrics: { defaultMetrics: boolean; buckets: number[] } | null;
  errors: (ErrorsOptions & { sampleRate: number; captureUncaught: boolean; maxQueueSize: number; maxBreadcrumbs: number }) | null;
  excludePaths: (string | RegExp)[];
  metricsPath: string;
  healthPath: string;
  shutdownTimeoutMs: number;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DOCS_PATHS = [/^\/docs(\/|$)/, /^\/swagger(\/|$)/, /^\/openapi\.json$/, '/favicon.ico'];

function signalUrl(env: Record<string, string | undefined>, signal: 'traces' | 'logs', endpoint: string | undefined): string | null {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`];
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? endpoint;
  return base ? `${base.replace(/\/+$/, '')}/v1/${signal}` : null;
}

function ratio(value: number | string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new TypeError(`@watchkeeper/node: ${what} must be a number from 0 to 1, got ${String(value)}`);
  return n;
}

/** Applies defaults and the environment (WATCHKEEPER_URL, WATCHKEEPER_DSN, LOG_LEVEL, OTEL_*). */
export function resolveOptions(o: InitOptions): ResolvedOptions {
  const env = o.env ?? process.env;
  const service = o.service || env.OTEL_SERVICE_NAME;
  if (!service) throw new TypeError('@watchkeeper/node: init() needs a "service" name');
  const endpoint = o.endpoint ?? env.WATCHKEEPER_URL;
  const protocol = o.tracing && o.tracing.protocol ? o.tracing.protocol : env.OTEL_EXPORTER_OTLP_PROTOCOL === 'grpc' ? 'grpc' : 'http/protobuf';
  const metricsPath = o.http?.metricsPath ?? '/metrics';
  const healthPath = o.http?.healthPath ?? '/healthz';
  const logsUrl = signalUrl(env, 'logs', endpoint);
  return {
    service,
    version: o.version ?? env.SERVICE_VERSION ?? '0.0.0',
    environment: o.environment ?? env.NODE_ENV ?? 'production',
    tracesUrl: signalUrl(env, 'traces', endpoint),
    logsUrl,
    otlpProtocol: protocol,
    dsn: o.dsn ?? env.WATCHKEEPER_DSN ?? env.SENTRY_DSN ?? null,
    tracing:
      o.tracing === false || env.OTEL_SDK_DISABLED === 'true'
        ? null
        : {
            sampleRate: ratio(o.tracing?.sampleRate ?? env.OTEL_TRACES_SAMPLER_ARG, 1, 'tracing.sampleRate'),
            maxQueueSize: o.tracing?.maxQueueSize ?? 2048,
            fastifyHookSpans: o.tracing?.fastifyHookSpans ?? false,
          },
    logging:
      o.logging === false
        ? null
        : {
            ...o.logging,
            level: o.logging?.level ?? env.LOG_LEVEL ?? 'info',
            ship: (o.logging?.ship ?? true) && logsUrl !== null,
            maxQueueSize: o.logging?.maxQueueSize ?? 2048,
            accessLog: o.logging?.accessLog ?? true,
            shipAccessLog: o.logging?.shipAccessLog ?? false,
          },
    metrics: o.metrics === false ? null : { defaultMetrics: o.metrics?.defaultMetrics ?? true, buckets: o.metrics?.buckets ?? DEFAULT_BUCKETS },
    errors:
      o.errors === false
        ? null
        : {
            ...o.errors,
            sampleRate: ratio(o.errors?.sampleRate, 1, 'errors.sampleRate'),
            captureUncaught: o.errors?.captureUncaught ?? true,
            maxQueueSize: o.errors?.maxQueueSize ?? 100,
            maxBreadcrumbs: o.errors?.maxBreadcrumbs ?? 100,
          },
    excludePaths: [metricsPath, healthPath, new RegExp(`^${healthPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`), ...DOCS_PATHS, ...(o.http?.excludePaths ?? [])],
    metricsPath,
    healthPath,
    shutdownTimeoutMs: o.shutdownTimeoutMs ?? 5000,
  };
}

/** True when `path` matches one of the exclusions (exact strings or regular expressions). */
export function isExcluded(path: string, excluded: readonly (string | RegExp)[]): boolean {
  for (const e of excluded) if (typeof e === 'string' ? e === path : e.test(path)) return true;
  return false;
}
