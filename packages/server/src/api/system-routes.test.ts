import { describe, expect, it } from 'vitest';
import { AccessControl } from './auth.js';
import { createHttpServer } from './http-server.js';
import { registerSystemRoutes } from './system-routes.js';
import { HealthRegistry } from '../selfobs/health.js';
import { createLogger } from '../selfobs/logger.js';
import { createSelfMetrics } from '../selfobs/metrics.js';

describe('readiness', () => {
  it('is 503 naming the components that are not ready, and stays 503 once shutdown begins', async () => {
    const health = new HealthRegistry();
    let tsdb: 'starting' | 'ok' = 'starting';
    health.register('tsdb', () => ({ status: tsdb, details: { replayed_segments: 3 } }));
    const metrics = createSelfMetrics('test');
    const app = createHttpServer({ logger: createLogger('silent'), metrics, accessControl: () => new AccessControl([]), bodyLimitBytes: 1024 });
    registerSystemRoutes(app, { health, metrics, version: '1.2.3', startedAt: Date.now(), reload: async () => [] });
    await app.ready();

    const starting = await app.inject({ method: 'GET', url: '/healthz/ready' });
    expect(starting.statusCode).toBe(503);
    expect(starting.json()).toEqual({ status: 'not_ready', components: [{ component: 'tsdb', status: 'starting', details: { replayed_segments: 3 } }] });
    expect((await app.inject({ method: 'GET', url: '/healthz/live' })).statusCode).toBe(200);

    tsdb = 'ok';
    expect((await app.inject({ method: 'GET', url: '/healthz/ready' })).statusCode).toBe(200);

    health.markShuttingDown();
    const stopping = await app.inject({ method: 'GET', url: '/healthz/ready' });
    expect(stopping.statusCode).toBe(503);
    const body = stopping.json() as { status: string; components: { component: string; status: string }[] };
    expect(body.status).toBe('not_ready');
    expect(body.components.map((c) => [c.component, c.status])).toEqual([
      ['server', 'stopping'],
      ['tsdb', 'stopping'],
    ]);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ status: 'stopping', version: '1.2.3' });
    await app.close();
  });
});
