/**
 * What every framework adapter shares: request ids, the request context, route templates on the
 * server span, RED metrics, access logs, 5xx capture and the internal /metrics and /healthz routes.
 */
import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AccessRecord } from '../logging.js';
import type { ErrorReporter } from '../errors/error-reporter.js';
import type { HealthService } from '../health.js';
import type { ServiceMetrics } from '../metrics.js';
import { isExcluded } from '../options.js';
import { isContextOf, requestContextOf, requestStore, type RequestContext } from '../request-context.js';

/** Route label of requests no route matched (keeps unknown paths out of the label values). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The parts of the SDK the adapters use. */
export interface ObserverDeps {
  metrics: ServiceMetrics | null;
  /** Writes access lines (null: logging is off). */
  accessLine: ((record: AccessRecord) => void) | null;
  accessLog: boolean;
  errors: ErrorReporter | null;
  health: () => HealthService | null;
  excludePaths: readonly (string | RegExp)[];
  metricsPath: string;
  healthPath: string;
  onInternalError: (err: unknown) => void;
}

/** A request being observed. */
export interface ObservedRequest {
  readonly ctx: RequestContext;
  /** performance.now() at begin(). */
  readonly startMs: number;
  readonly excluded: boolean;
  /** The request context was made here: the adapter runs the handler in it (requestStore.run). */
  readonly ownContext: boolean;
}

/** An internal response (metrics or health). */
export interface InternalResponse {
  statusCode: number;
  contentType: string;
  body: string;
}

/** Shared request observation logic; adapters call begin → setRoute → end. */
export class HttpObserver {
  constructor(private readonly deps: ObserverDeps) {}

  /** The internal response for `path` when it is the metrics or a health path, else null. */
  internalRoute(method: string, path: string): (() => Promise<InternalResponse>) | null {
    if (method !== 'GET' && method !== 'HEAD') return null;
    const { metrics, metricsPath, healthPath } = this.deps;
    if (path === metricsPath && metrics) {
      return async () => {
        const r = await metrics.render();
        return { statusCode: 200, contentType: r.contentType, body: r.body };
      };
    }
    const health = this.deps.health();
    if (!health || !path.startsWith(healthPath)) return null;
    const sub = path.slice(healthPath.length);
    const run = sub === '/live' ? async () => health.live() : sub === '/ready' ? () => health.ready() : sub === '' || sub === '/' ? () => health.detailed() : null;
    if (!run) return null;
    return async () => {
      const r = await run();
      return { statusCode: r.statusCode, contentType: 'application/json; charset=utf-8', body: JSON.stringify(r.body) };
    };
  }

  /**
   * Starts observing; the caller sets X-Request-ID on the response and, when `ownContext`, runs the
   * handler in `ctx` (with tracing on, the request's span context already carries it).
   */
  begin(req: IncomingMessage, path: string): ObservedRequest {
    const current = requestStore.getStore();
    const ownContext = !isContextOf(current, req);
    const ctx = ownContext ? requestContextOf(req) : current!;
    return { ctx, startMs: performance.now(), excluded: isExcluded(path, this.deps.excludePaths), ownContext };
  }

  /** Records the matched route template; the HTTP server span is named after it too. */
  setRoute(request: RequestContext, route: string): void {
    request.route = route;
    const rpc = getRPCMetadata(context.active());
    if (rpc?.type === RPCType.HTTP) rpc.route = route;
  }

  /** Seconds since begin(), formatted for X-Process-Time. */
  processTime(req: ObservedRequest): string {
    return ((performance.now() - req.startMs) / 1e3).toFixed(6);
  }

  /** Records metrics and the access log of a finished request. */
  end(req: ObservedRequest, status: number): void {
    if (req.excluded) return;
    try {
      const seconds = (performance.now() - req.startMs) / 1e3;
      const route = req.ctx.route ?? UNMATCHED_ROUTE;
      this.deps.metrics?.observeRequest(req.ctx.method, route, status, seconds);
      if (this.deps.accessLog && this.deps.accessLine) this.deps.accessLine({ requestId: req.ctx.requestId, method: req.ctx.method, route, status, durationMs: Math.round(seconds * 1e6) / 1e3 });
    } catch (e) {
      this.deps.onInternalError(e);
    }
  }

  /** Captures an error that ended a request with a 5xx, with the request's context. */
  captureServerError(err: unknown, request: RequestContext | undefined): void {
    this.deps.errors?.captureException(err, { mechanism: { type: 'http', handled: false }, tags: request?.route ? { route: request.route } : {} });
  }
}

/** The path part of a request URL. */
export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}
