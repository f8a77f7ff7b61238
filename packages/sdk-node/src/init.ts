/** `init()`: the composition root of the SDK, and the handle it returns. */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { RequestListener } from 'node:http';
import pino, { type Logger } from 'pino';
import { subscribeHttpBreadcrumbs } from './breadcrumb-sources.js';
import { ErrorReporter, type CaptureContext } from './errors/error-reporter.js';
import type { Breadcrumb, User } from './errors/event.js';
import { HealthService, type HealthOptions } from './health.js';
import { createLogging, type ServiceLogging } from './logging.js';
import { ServiceMetrics } from './metrics.js';
import { expressErrorHandler, expressMiddleware } from './middleware/express.js';
import { fastifyPlugin, type WatchkeeperFastifyPlugin } from './middleware/fastify.js';
import { HttpObserver } from './middleware/http-observer.js';
import { wrapRequestListener, type RouteOf } from './middleware/node-http.js';
import { isExcluded, resolveOptions, type InitOptions } from './options.js';
import { startTracing, type ServiceTracing } from './tracing.js';

/** What `init()` returns: every part of the SDK, and `shutdown()`. */
export interface Watchkeeper {
  /** The service logger (pino); a no-op logger when logging is off. */
  readonly logger: Logger;
  /** The metrics registry and helpers; null when metrics are off. */
  readonly metrics: ServiceMetrics | null;
  captureException(error: unknown, ctx?: CaptureContext): string;
  captureMessage(message: string, ctx?: CaptureContext): string;
  setUser(user: User | null): void;
  setTag(key: string, value: string): void;
  addBreadcrumb(crumb: Omit<Breadcrumb, 'timestamp'>): void;
  /** Runs `fn`, observing its duration in the histogram `name` (seconds) labelled by outcome. */
  timed<T>(name: string, fn: () => T): T;
  /** Sets the dependency checks served at /healthz, /healthz/live and /healthz/ready. */
  health(opts: HealthOptions): HealthService;
  /** Express middleware: `app.use(wk.express())` first. */
  express(): ReturnType<typeof expressMiddleware>;
  /** Express error handler: `app.use(wk.expressErrors())` after the routes. */
  expressErrors(): ReturnType<typeof expressErrorHandler>;
  /** Fastify plugin: `await app.register(wk.fastify)`. */
  readonly fastify: WatchkeeperFastifyPlugin;
  /** Wraps a node:http request listener. */
  httpHandler(handler: RequestListener, routeOf?: RouteOf): RequestListener;
  /** Exports everything queued; resolves false when `timeoutMs` passed first. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Flushes and stops everything within the shutdown timeout; init() may be called again after. */
  shutdown(): Promise<void>;
}

let active: Watchkeeper | null = null;
const DIAG_THROTTLE_MS = 60_000;

/** Instruments the service in one call. Throws when called twice without shutdown() in between. */
export function init(options: InitOptions): Watchkeeper {
  if (active !== null) throw new Error('@watchkeeper/node: init() was already called in this process; call shutdown() on the first handle before initialising again');
  const o = resolveOptions(options);
  const resource = resourceFromAttributes({ 'service.name': o.service, 'service.version': o.version, 'deployment.environment.name': o.environment });
  const metrics = o.metrics ? new ServiceMetrics({ defaultMetrics: o.metrics.defaultMetrics, buckets: o.metrics.buckets }) : null;
  const drop = (signal: string) => (reason: string, count: number) => metrics?.dropped.inc({ signal, reason }, count);

  let logging: ServiceLogging | null = null;
  let internalLogger: Logger | null = null;
  const onInternalError = (err: unknown) => internalLogger?.warn({ err }, 'watchkeeper sdk internal error');
  const errors = o.errors
    ? new ErrorReporter({
        dsn: o.dsn,
        service: o.service,
        version: o.version,
        environment: o.environment,
        sampleRate: o.errors.sampleRate,
        maxQueueSize: o.errors.maxQueueSize,
        maxBreadcrumbs: o.errors.maxBreadcrumbs,
        ignoreErrors: o.errors.ignoreErrors,
        scrubFields: o.errors.scrubFields,
        beforeSend: o.errors.beforeSend,
        onDrop: drop('errors'),
        onInternalError,
      })
    : null;
  if (o.logging) {
    logging = createLogging(o.logging, {
      service: o.service,
      version: o.version,
      environment: o.environment,
      resource,
      logsUrl: o.logsUrl,
      onDrop: drop('logs'),
      onWarning: (level, message) => errors?.addBreadcrumb({ category: 'log', level: level === 'warn' ? 'warning' : level, message }),
    });
    internalLogger = logging.logger.child({ logger: '@watchkeeper/node' });
  }
  const logger = logging?.logger ?? pino({ level: 'silent' });

  // OTel's own diagnostics are chatty when the endpoint is down: warn at most once a minute.
  let lastDiag = 0;
  const diagLog = (message: string, ...args: unknown[]) => {
    const now = Date.now();
    if (now - lastDiag < DIAG_THROTTLE_MS) return;
    lastDiag = now;
    internalLogger?.warn({ details: args.map(String) }, `opentelemetry: ${message}`);
  };
  diag.setLogger({ error: diagLog, warn: diagLog, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

  const ownOrigins = [o.tracesUrl, o.logsUrl, errors?.origin].filter((u): u is string => u !== null && u !== undefined).map((u) => new URL(u).origin);
  const isOwnUrl = (url: string) => ownOrigins.some((origin) => url.startsWith(origin));
  const unsubscribeBreadcrumbs = errors ? subscribeHttpBreadcrumbs((c) => errors.addBreadcrumb(c), isOwnUrl) : () => {};

  const tracing: ServiceTracing | null = o.tracing
    ? startTracing({ resource, url: o.tracesUrl, protocol: o.otlpProtocol, sampleRate: o.tracing.sampleRate, maxQueueSize: o.tracing.maxQueueSize, fastifyHookSpans: o.tracing.fastifyHookSpans, ignoreIncoming: (p) => isExcluded(p, o.excludePaths), onDrop: drop('traces') })
    : null;

  let health: HealthService | null = null;
  const observer = new HttpObserver({
    metrics,
    accessLine: logging?.accessLine ?? null,
    accessLog: o.logging?.accessLog ?? false,
    errors,
    health: () => health,
    excludePaths: o.excludePaths,
    metricsPath: o.metricsPath,
    healthPath: o.healthPath,
    onInternalError,
  });

  const flush = async (timeoutMs = o.shutdownTimeoutMs): Promise<boolean> => {
    const work = Promise.all([tracing?.flush(), logging?.flush(), errors?.flush(timeoutMs)]).then(
      ([, , sent]) => sent !== false,
      () => false,
    );
    return Promise.race([work, new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  };

  const uninstallUncaught = o.errors?.captureUncaught && errors ? installUncaughtHandlers(errors, logger, () => flush(Math.min(2000, o.shutdownTimeoutMs))) : () => {};

  let shuttingDown: Promise<void> | null = null;
  const handle: Watchkeeper = {
    logger,
    metrics,
    captureException: (error, ctx) => errors?.captureException(error, ctx) ?? '',
    captureMessage: (message, ctx) => errors?.captureMessage(message, ctx) ?? '',
    setUser: (user) => errors?.setUser(user),
    setTag: (key, value) => errors?.setTag(key, value),
    addBreadcrumb: (crumb) => errors?.addBreadcrumb(crumb),
    timed<T>(name: string, fn: () => T): T {
      const end = metrics?.histogram(name, { help: `Duration of ${name} in seconds`, labelNames: ['outcome'] }).startTimer();
      try {
        const result = fn();
        if (result instanceof Promise) {
          return result.then(
            (v: unknown) => (end?.({ outcome: 'success' }), v),
            (e: unknown) => {
              end?.({ outcome: 'error' });
              throw e;
            },
          ) as T;
        }
        end?.({ outcome: 'success' });
        return result;
      } catch (e) {
        end?.({ outcome: 'error' });
        throw e;
      }
    },
    health(opts) {
      health?.close();
      health = new HealthService(opts);
      return health;
    },
    express: () => expressMiddleware(observer),
    expressErrors: () => expressErrorHandler(observer),
    fastify: fastifyPlugin(observer, { metricsPath: o.metricsPath, healthPath: o.healthPath }),
    httpHandler: (handler, routeOf) => wrapRequestListener(observer, handler, routeOf),
    flush,
    shutdown() {
      shuttingDown ??= (async () => {
        const deadline = new Promise<void>((r) => setTimeout(r, o.shutdownTimeoutMs).unref());
        const work = Promise.allSettled([tracing?.shutdown(), errors?.close(o.shutdownTimeoutMs - 100), logging?.shutdown()]);
        await Promise.race([work, deadline]);
        uninstallUncaught();
        unsubscribeBreadcrumbs();
        health?.close();
        diag.disable();
        if (active === handle) active = null;
      })();
      return shuttingDown;
    },
  };
  active = handle;
  return handle;
}

/** Captures uncaught exceptions and unhandled rejections, flushes, then exits with code 1 as Node would. */
function installUncaughtHandlers(errors: ErrorReporter, logger: Logger, flush: () => Promise<boolean>): () => void {
  let exiting = false;
  const onFatal = (err: unknown, type: 'onuncaughtexception' | 'onunhandledrejection') => {
    errors.captureException(err, { level: 'fatal', mechanism: { type, handled: false } });
    logger.fatal({ err }, type === 'onuncaughtexception' ? 'uncaught exception' : 'unhandled promise rejection');
    if (exiting) return;
    exiting = true;
    void flush().finally(() => process.exit(1));
  };
  const onException = (err: Error) => onFatal(err, 'onuncaughtexception');
  const onRejection = (reason: unknown) => onFatal(reason, 'onunhandledrejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
