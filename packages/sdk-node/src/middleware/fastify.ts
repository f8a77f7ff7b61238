/** Fastify adapter: a plugin adding request hooks, error capture and the internal routes. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestStore } from '../request-context.js';
import { beforeHead } from './before-head.js';
import { HttpObserver, pathOf, type ObservedRequest } from './http-observer.js';

const OBSERVED = Symbol('watchkeeper.observed');
type Tagged = FastifyRequest & { [OBSERVED]?: ObservedRequest };

/** A Fastify plugin (not encapsulated: its hooks apply to every route). */
export type WatchkeeperFastifyPlugin = (app: FastifyInstance, opts: unknown, done: (err?: Error) => void) => void;

/** `await app.register(wk.fastify)`. */
export function fastifyPlugin(observer: HttpObserver, paths: { metricsPath: string; healthPath: string }): WatchkeeperFastifyPlugin {
  const plugin: WatchkeeperFastifyPlugin = (app, _opts, done) => {
    const internal = async (req: FastifyRequest, reply: FastifyReply) => {
      const run = observer.internalRoute('GET', pathOf(req.url));
      if (!run) return reply.code(404).send({ error: 'not found' });
      const r = await run();
      return reply.code(r.statusCode).type(r.contentType).send(r.body);
    };
    for (const p of [paths.metricsPath, paths.healthPath, `${paths.healthPath}/live`, `${paths.healthPath}/ready`]) app.get(p, internal);

    app.addHook('onRequest', (rawReq, reply, next) => {
      const req = rawReq as Tagged;
      const observed = observer.begin(req.raw, pathOf(req.url));
      req[OBSERVED] = observed;
      if (req.routeOptions.url !== undefined) observer.setRoute(observed.ctx, req.routeOptions.url);
      void reply.header('X-Request-ID', observed.ctx.requestId);
      // X-Process-Time is set just before the head goes out, by the writeHead wrapper (no onSend hook).
      beforeHead(observed.ctx, reply.raw, () => observer.processTime(observed));
      if (observed.ownContext) requestStore.run(observed.ctx, () => next());
      else next();
    });
    app.addHook('onError', (req, reply, error, next) => {
      if (!(reply.statusCode < 500) || !(Number(error.statusCode ?? 500) < 500)) observer.captureServerError(error, (req as Tagged)[OBSERVED]?.ctx);
      next();
    });
    app.addHook('onResponse', (req, reply, next) => {
      const observed = (req as Tagged)[OBSERVED];
      if (observed) observer.end(observed, reply.statusCode);
      next();
    });
    done();
  };
  // Fastify's documented flag for a plugin that must not be encapsulated (what fastify-plugin sets).
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@watchkeeper/node' });
}
