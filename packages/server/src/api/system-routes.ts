/** Operational endpoints: health, readiness, self metrics and configuration reload. */
import type { FastifyInstance } from 'fastify';
import type { HealthRegistry } from '../selfobs/health.js';
import type { SelfMetrics } from '../selfobs/metrics.js';
import { ApiError } from './errors.js';

export interface SystemRoutesDeps {
  readonly health: HealthRegistry;
  readonly metrics: SelfMetrics;
  readonly version: string;
  readonly startedAt: number;
  /** Re-reads the configuration; resolves to the validation problems, empty on success. */
  readonly reload: () => Promise<readonly string[]>;
}

export function registerSystemRoutes(app: FastifyInstance, deps: SystemRoutesDeps): void {
  app.get('/healthz/live', { config: { scope: 'public' } }, async () => ({ status: 'ok' }));

  app.get('/healthz/ready', { config: { scope: 'public' } }, async (_req, reply) => {
    const { ready, components } = deps.health.report();
    if (ready) return { status: 'ready' };
    const notReady = Object.entries(components)
      .filter(([, h]) => h.status !== 'ok')
      .map(([name, h]) => ({ component: name, status: h.status, details: h.details ?? {} }));
    if (deps.health.isShuttingDown) notReady.unshift({ component: 'server', status: 'stopping', details: {} });
    return reply.code(503).send({ status: 'not_ready', components: notReady });
  });

  app.get('/healthz', { config: { scope: 'public' } }, async (_req, reply) => {
    const { ready, components } = deps.health.report();
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ok' : deps.health.isShuttingDown ? 'stopping' : 'degraded',
      version: deps.version,
      uptime_seconds: Math.round((Date.now() - deps.startedAt) / 1000),
      components,
    });
  });

  app.get('/metrics', { config: { scope: 'read' } }, async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  const reload = async () => {
    const problems = await deps.reload();
    if (problems.length > 0) throw new ApiError(400, 'bad_data', `configuration reload failed; the running configuration is kept:\n${problems.join('\n')}`);
    return { status: 'success' };
  };
  app.post('/-/reload', { config: { scope: 'admin' } }, reload);
  app.put('/-/reload', { config: { scope: 'admin' } }, reload);
}
