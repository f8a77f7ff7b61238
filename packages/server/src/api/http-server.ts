/**
 * The Fastify instance every API registers on. It owns what all routes share: request ids,
 * request logging and metrics, the scope check, body parsing limits, and the error shape.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { Logger } from 'pino';
import { ApiError, errorBody, errorTypeForStatus } from './errors.js';
import type { AccessControl, RouteScope } from './auth.js';
import type { SelfMetrics } from '../selfobs/metrics.js';
import { requestContext } from '../selfobs/logger.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; every route must declare one. */
    scope?: RouteScope;
  }
}

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly metrics: SelfMetrics;
  /** Called per request so a configuration reload takes effect at once. */
  readonly accessControl: () => AccessControl;
  readonly bodyLimitBytes: number;
}

const ALL_METHODS: readonly HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

const REQUEST_ID_RE = /^[A-Za-z0-9._:@\-]{1,128}$/;
/** Paths that are scraped or polled often: kept out of request metrics and info-level logs. */
const QUIET_PATH_RE = /^\/(metrics|healthz)(\/|$)/;

function incomingRequestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  for (const name of ['x-request-id', 'x-correlation-id']) {
    const v = req.headers[name];
    if (typeof v === 'string' && REQUEST_ID_RE.test(v)) return v;
  }
  return randomUUID();
}

/** Binary bodies (protobuf, snappy, gzip) arrive as Buffers; decoders check them. */
const BINARY_TYPES = [
  'application/x-protobuf',
  'application/protobuf',
  'application/octet-stream',
  'application/x-snappy-framed',
  'application/vnd.google.protobuf',
];

export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // The request id reaches log lines through AsyncLocalStorage (selfobs/logger.ts), so request
    // loggers get no binding of their own; a second copy would repeat the key in every line.
    childLoggerFactory: (logger, _bindings, childOptions) => logger.child({}, childOptions),
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: incomingRequestId,
    requestIdHeader: false,
    bodyLimit: opts.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false },
  });

  app.addContentTypeParser(BINARY_TYPES, { parseAs: 'buffer', bodyLimit: opts.bodyLimitBytes }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(['text/plain', 'application/x-ndjson', 'application/openmetrics-text'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  // Prometheus's API takes form posts (Grafana sends them); handlers read them as URLSearchParams.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  // Anything else without a parser of its own is kept raw for the route to judge.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // A shadow of the route table, so a request for a known path with the wrong method gets 405
  // (with Allow) rather than 404, as Prometheus answers. Fastify's router does not tell them apart.
  const knownRoutes = FindMyWay();
  app.addHook('onRoute', (route) => {
    if (route.config?.scope === undefined && !route.url.startsWith('*')) {
      throw new Error(`route ${route.method} ${route.url} does not declare a scope`);
    }
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (!knownRoutes.hasRoute(method as HTTPMethod, route.url)) knownRoutes.on(method as HTTPMethod, route.url, () => {});
    }
  });

  app.addHook('onRequest', (req, reply, done) => {
    reply.header('X-Request-ID', req.id);
    requestContext.run({ requestId: req.id }, () => {
      const scope = req.routeOptions.config?.scope ?? 'public';
      const result = opts.accessControl().check(scope, req.headers.authorization);
      if (!result.ok) {
        if (result.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="watchkeeper"');
        void reply.code(result.status).send(errorBody(errorTypeForStatus(result.status), result.message));
        return;
      }
      done();
    });
  });

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const quiet = QUIET_PATH_RE.test(req.url);
    const durationMs = reply.elapsedTime;
    if (!quiet) {
      const labels = { method: req.method, route, code: String(reply.statusCode) };
      opts.metrics.httpRequests.inc(labels);
      opts.metrics.httpDuration.observe(labels, durationMs / 1000);
    }
    const fields = {
      request_id: req.id,
      method: req.method,
      route,
      status: reply.statusCode,
      duration_ms: Math.round(durationMs * 1000) / 1000,
    };
    if (quiet) req.log.debug(fields, 'request served');
    else req.log.info(fields, 'request served');
    done();
  });

  app.setErrorHandler((err: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds !== undefined) reply.header('Retry-After', String(err.retryAfterSeconds));
      return reply.code(err.statusCode).send(errorBody(err.errorType, err.message));
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const message = status === 413 ? `request body is larger than the limit of ${opts.bodyLimitBytes} bytes` : err.message;
    return reply.code(status).send(errorBody(errorTypeForStatus(status), message));
  });

  app.setNotFoundHandler({}, (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const allowed = ALL_METHODS.filter((m) => m !== req.method && knownRoutes.find(m, path) !== null);
    if (allowed.length > 0) {
      reply.header('Allow', allowed.join(', '));
      reply.code(405).send(errorBody('method_not_allowed', `method ${req.method} is not allowed for ${path}; use ${allowed.join(' or ')}`));
      return;
    }
    reply.code(404).send(errorBody('not_found', `no route for ${req.method} ${path}`));
  });

  return app;
}
