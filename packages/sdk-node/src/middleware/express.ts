/** Express adapter: a middleware (request ids, metrics, logs, internal routes) and an error handler. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isContextOf, requestStore, type RequestContext } from '../request-context.js';
import { beforeHead } from './before-head.js';
import { HttpObserver, pathOf } from './http-observer.js';

/** The Express request fields the adapter reads (typed structurally: Express stays optional). */
interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}
type Next = (err?: unknown) => void;


/** Records the template of the route Express matched (mount path included), once known. */
function routeOf(observer: HttpObserver, req: ExpressRequest, request: RequestContext): void {
  if (request.route === null && req.route && typeof req.route.path === 'string') observer.setRoute(request, `${req.baseUrl ?? ''}${req.route.path}`);
}

/** `app.use(wk.express())`: put it first. */
export function expressMiddleware(observer: HttpObserver): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (rawReq, res, next) => {
    const req = rawReq as ExpressRequest;
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
    res.setHeader('X-Request-ID', observed.ctx.requestId);
    // X-Process-Time must be set before the head goes out; writeHead is the last moment.
    beforeHead(observed.ctx, res, () => {
      routeOf(observer, req, observed.ctx);
      return observer.processTime(observed);
    });
    // 'finish' comes once: a plain listener does (once() wraps it in two more objects).
    res.on('finish', () => {
      routeOf(observer, req, observed.ctx);
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
    // Express runs error handlers in the request's context; nothing is stored on its requests,
    // whose replaced prototype sends every property store on them through V8's slow path.
    const current = requestStore.getStore();
    const request = isContextOf(current, req) ? current : undefined;
    if (request) routeOf(observer, req as ExpressRequest, request);
    if (!(status < 500)) observer.captureServerError(err, request);
    next(err);
  };
}
