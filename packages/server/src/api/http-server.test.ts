import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AccessControl } from './auth.js';
import { createHttpServer } from './http-server.js';
import { createLogger } from '../selfobs/logger.js';
import { createSelfMetrics } from '../selfobs/metrics.js';

describe('the HTTP edge', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1024 });
    app.get('/things/:id', { config: { scope: 'read' } }, async () => ({ ok: true }));
    app.post('/things', { config: { scope: 'ingest' } }, async () => ({ ok: true }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('answers an unknown path with 404 in the Prometheus error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/nothing?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ status: 'error', errorType: 'not_found', error: 'no route for GET /nothing' });
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/things/7' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toContain('GET');
    expect(res.json()).toMatchObject({ status: 'error', errorType: 'method_not_allowed' });
    expect((await app.inject({ method: 'GET', url: '/things' })).statusCode).toBe(405);
  });

  it('answers an oversized body with 413 naming the limit', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(4096) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ status: 'error', errorType: 'payload_too_large', error: 'request body is larger than the limit of 1024 bytes' });
  });

  it('refuses to register a route that declares no scope', () => {
    const other = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1024 });
    expect(() => other.get('/open', async () => 'x')).toThrow('route GET /open does not declare a scope');
  });
});
