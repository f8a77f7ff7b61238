/** Express adapter: a middleware (request ids, metrics, logs, internal routes) and an error handler. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestStore } from '../request-context.js';
import { HttpObserver, pathOf, type ObservedRequest } from './http-observer.js';

/** The Express request fields the adapter reads (typed structurally: Express stays optional). */
interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}
type Next = (err?: unknown) => void;

const OBSERVED = Symbol('watchkeeper.observed');
type Tagged = ExpressRequest & { [OBSERVED]?: ObservedRequest };

/** Records the template of the route Express matched (mount path included), once known. */
function routeOf(observer: HttpObserver, req: ExpressRequest, observed: ObservedRequest): void {
  if (observed.ctx.route === null && req.route && typeof req.route.path === 'string') observer.setRoute(observed, `${req.baseUrl ?? ''}${req.route.path}`);
}

/** `app.use(wk.express())`: put it first. */
export function expressMiddleware(observer: HttpObserver): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (rawReq, res, next) => {
    const req = rawReq as Tagged;
    const path = pathOf(req.url);
    const internal = observer.internalRoute(req.method ?? 'GET', path);
    if (internal) {
      internal().then(
        (r) => res.writeHead(r.statusCode, { 'content-type': r.contentType }).end(req.method === 'HEAD' ? undefined : r.body),
        (err: unknown) => next(err),
      );
      return;
    }
    const observed = observer.begin(req, path);
    req[OBSERVED] = observed;
    res.setHeader('X-Request-ID', observed.ctx.requestId);
    const writeHead = res.writeHead;
    // X-Process-Time must be set before the head goes out; writeHead is the last moment.
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!this.headersSent) {
        this.setHeader('X-Process-Time', observer.processTime(observed));
        routeOf(observer, req, observed);
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    res.once('finish', () => {
      routeOf(observer, req, observed);
      observer.end(observed, res.statusCode);
    });
    if (observed.ownContext) requestStore.run(observed.ctx, next);
    else next();
  };
}

/** `app.use(wk.expressErrors())` after the routes: captures errors that become 5xx, then passes them on. */
export function expressErrorHandler(observer: HttpObserver): (err: unknown, req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (err, req, _res, next) => {
    const status = typeof err === 'object' && err !== null ? Number((err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode ?? 500) : 500;
    const observed = (req as Tagged)[OBSERVED];
    if (observed) routeOf(observer, req as Tagged, observed);
    if (!(status < 500)) observer.captureServerError(err, observed);
    next(err);
  };
}
