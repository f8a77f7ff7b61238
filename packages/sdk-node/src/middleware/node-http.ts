/** Adapter for plain node:http servers: wraps the request listener. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { requestStore } from '../request-context.js';
import { beforeHead } from './before-head.js';
import { HttpObserver, pathOf } from './http-observer.js';

/** Maps a request to its route template; the default replaces id-like path segments with ":id". */
export type RouteOf = (req: IncomingMessage, path: string) => string;

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})$/i;

/** The path with numeric, UUID and long hex segments replaced by ":id". */
export function templateOfPath(_req: IncomingMessage, path: string): string {
  return path
    .split('/')
    .map((s) => (ID_SEGMENT.test(s) ? ':id' : s))
    .join('/');
}

/** `http.createServer(wk.httpHandler(handler))`. */
export function wrapRequestListener(observer: HttpObserver, handler: RequestListener, routeOf: RouteOf = templateOfPath): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = pathOf(req.url);
    const internal = observer.internalRoute(req.method ?? 'GET', path);
    if (internal) {
      internal().then(
        (r) => res.writeHead(r.statusCode, { 'content-type': r.contentType }).end(req.method === 'HEAD' ? undefined : r.body),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const observed = observer.begin(req, path);
    observer.setRoute(observed.ctx, routeOf(req, path));
    res.setHeader('X-Request-ID', observed.ctx.requestId);
    beforeHead(observed.ctx, res, () => observer.processTime(observed));
    res.on('finish', () => observer.end(observed, res.statusCode));
    const run = () => {
      try {
        const r: unknown = handler(req, res);
        if (r instanceof Promise) r.catch((err: unknown) => fail(err));
      } catch (err) {
        fail(err);
      }
    };
    if (observed.ownContext) requestStore.run(observed.ctx, run);
    else run();
    function fail(err: unknown): void {
      observer.captureServerError(err, observed.ctx);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    }
  };
}
