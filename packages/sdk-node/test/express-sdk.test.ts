/**
 * An Express service instrumented with the SDK, driven with fetch; everything the SDK sends goes to
 * an in-process receiver that decodes OTLP with the official generated codec.
 */
import express from 'express';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Watchkeeper } from '../src/index.js';
import { memoryDestination, TelemetryReceiver, waitFor } from './support/telemetry-receiver.js';

const SECRET_TOKEN = 'Bearer s3cr3t-authorization-value';
const SECRET_PASSWORD = 'hunter2-password-value';
const receiver = new TelemetryReceiver();
const logs = memoryDestination();
let wk: Watchkeeper;
let server: Server;
let base = '';
let dbMode: 'ok' | 'fail' | 'hang' = 'ok';

beforeAll(async () => {
  await receiver.start();
  wk = init({
    service: 'express-test',
    version: '1.2.3',
    environment: 'test',
    endpoint: receiver.url,
    dsn: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${receiver.port}/1`,
    logging: { destination: logs, level: 'debug' },
    errors: { captureUncaught: false },
    http: { excludePaths: ['/internal/ping'] },
    env: {},
  });
  wk.health({
    checks: {
      db: () => (dbMode === 'ok' ? { pool: 3 } : dbMode === 'fail' ? Promise.reject(new Error('connection refused')) : new Promise(() => {})),
      cache: { check: () => false, critical: false },
    },
    timeoutMs: 300,
  });
  const app = express();
  app.use(wk.express());
  app.use(express.json());
  app.get('/users/:id', (req, res) => {
    wk.logger.info({ user: req.params.id }, 'loading user');
    res.json({ id: req.params.id });
  });
  app.get('/internal/ping', (_req, res) => void res.send('pong'));
  app.post('/login', (req) => {
    wk.logger.info({ password: (req.body as { password: string }).password }, 'login attempt');
    throw new Error('login exploded');
  });
  app.get('/chain', async (_req, _res, next) => {
    await fetch(`${base}/users/5?token=abc`);
    wk.logger.warn('stock is low');
    next(new Error('chain failed after a call'));
  });
  app.use(wk.expressErrors());
  await new Promise<void>((r) => (server = app.listen(0, '127.0.0.1', () => r())));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await wk?.shutdown();
  await receiver.stop();
});

describe('@watchkeeper/node with Express', () => {
  it('echoes a given request id, makes one otherwise, and sets X-Process-Time', async () => {
    const given = await fetch(`${base}/users/42`, { headers: { 'x-request-id': 'req-abc-123' } });
    expect(given.status).toBe(200);
    expect(given.headers.get('x-request-id')).toBe('req-abc-123');
    expect(Number(given.headers.get('x-process-time'))).toBeGreaterThanOrEqual(0);
    const correlation = await fetch(`${base}/users/43`, { headers: { 'x-correlation-id': 'corr-77' } });
    expect(correlation.headers.get('x-request-id')).toBe('corr-77');
    const made = await fetch(`${base}/users/44`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes JSON log lines carrying service fields, request id, trace id and span id', () => {
    const line = logs.lines.find((l) => l.message === 'loading user' && l.request_id === 'req-abc-123');
    expect(line).toMatchObject({ level: 'info', service: 'express-test', version: '1.2.3', environment: 'test', logger: 'express-test', user: '42' });
    expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(line?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof line?.timestamp).toBe('string');
    const access = logs.lines.find((l) => l.message === 'request completed' && l.request_id === 'req-abc-123');
    expect(access).toMatchObject({ route: '/users/:id', status: 200, method: 'GET' });
  });

  it('counts RED metrics by route template, never the raw path, and skips excluded paths', async () => {
    await fetch(`${base}/internal/ping`);
    await fetch(`${base}/healthz/live`);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('http_requests_total{method="GET",route="/users/:id",status="200"} 3');
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/users\/:id",status="200"\} 3/);
    expect(text).not.toContain('/users/42');
    expect(text).not.toContain('/internal/ping');
    expect(text).not.toContain('route="/healthz');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('exports the server span over OTLP, named by route and carrying the request id', async () => {
    await wk.flush(5000);
    const span = receiver.spans.find((s) => s.attributes.request_id === 'req-abc-123');
    expect(span).toBeDefined();
    expect(span!.name).toBe('GET /users/:id');
    expect(span!.attributes['http.route']).toBe('/users/:id');
    expect(span!.resource['service.name']).toBe('express-test');
    const line = logs.lines.find((l) => l.message === 'loading user' && l.request_id === 'req-abc-123');
    expect(line?.trace_id).toBe(span!.traceId);
    const SERVER = 2;
    expect(receiver.spans.some((s) => s.kind === SERVER && s.attributes['http.route'] === '/users/:id')).toBe(true);
    expect(receiver.spans.some((s) => s.kind === SERVER && String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '').startsWith('/internal/ping'))).toBe(false);
  });

  it('ships log records over OTLP with their trace id; access lines stay local by default', async () => {
    await wk.flush(5000);
    const rec = receiver.logs.find((l) => l.body === 'loading user' && l.attributes.request_id === 'req-abc-123');
    expect(rec).toBeDefined();
    expect(rec!.severityText).toBe('INFO');
    expect(rec!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(logs.lines.some((l) => l.message === 'request completed')).toBe(true);
    expect(receiver.logs.some((l) => l.body === 'request completed')).toBe(false);
  });

  it('captures a 5xx as a Sentry envelope with request context, trace id and request id, scrubbed', async () => {
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: SECRET_TOKEN, cookie: `session=${SECRET_PASSWORD}`, 'x-request-id': 'req-login-1' },
      body: JSON.stringify({ user: 'ann', password: SECRET_PASSWORD }),
    });
    expect(res.status).toBe(500);
    wk.captureException(new Error('with extras'), { extra: { form: { password: SECRET_PASSWORD, token: SECRET_TOKEN } }, tags: { area: 'login' }, user: { id: 'u1' } });
    expect(await wk.flush(5000)).toBe(true);
    const events = receiver.events();
    const event = events.find((e) => (e.exception as { values: { value: string }[] } | undefined)?.values[0]?.value === 'login exploded');
    expect(event).toBeDefined();
    expect(event!.tags).toMatchObject({ request_id: 'req-login-1', route: '/login' });
    expect((event!.contexts as { trace: { trace_id: string } }).trace.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const request = event!.request as { method: string; headers: Record<string, string> };
    expect(request.method).toBe('POST');
    expect(request.headers.authorization).toBe('[Filtered]');
    expect(request.headers.cookie).toBe('[Filtered]');
    const frames = (event!.exception as { values: { stacktrace: { frames: { filename: string; in_app: boolean }[] } }[] }).values[0]!.stacktrace.frames;
    expect(frames.at(-1)?.filename).toContain('express-sdk.test.ts');
    const extras = events.find((e) => (e.exception as { values: { value: string }[] } | undefined)?.values[0]?.value === 'with extras');
    expect(extras).toMatchObject({ tags: { area: 'login' }, user: { id: 'u1' }, extra: { form: { password: '[Filtered]', token: '[Filtered]' } } });
  });

  it('records breadcrumbs from outgoing HTTP calls and warn log lines', async () => {
    expect((await fetch(`${base}/chain`)).status).toBe(500);
    expect(await wk.flush(5000)).toBe(true);
    const event = receiver.events().find((e) => JSON.stringify(e.exception).includes('chain failed after a call'));
    const crumbs = (event?.breadcrumbs as { values: { category: string; message?: string; data?: Record<string, unknown> }[] }).values;
    expect(crumbs).toContainEqual(expect.objectContaining({ category: 'http', data: { method: 'GET', url: `${base}/users/5`, status_code: 200 } }));
    expect(crumbs).toContainEqual(expect.objectContaining({ category: 'log', level: 'warning', message: 'stock is low' }));
    expect(crumbs.some((c) => String(c.data?.url ?? '').startsWith(receiver.url))).toBe(false);
  });

  it('never lets the Authorization header or a password field leave the process', async () => {
    await wk.flush(5000);
    expect(receiver.rawBodies.length).toBeGreaterThan(0);
    for (const body of receiver.rawBodies) {
      expect(body).not.toContain('s3cr3t-authorization-value');
      expect(body).not.toContain(SECRET_PASSWORD);
    }
    const written = JSON.stringify(logs.lines);
    expect(written).toContain('login attempt');
    expect(written).not.toContain(SECRET_PASSWORD);
  });

  it('serves liveness, readiness and the detailed health view', async () => {
    dbMode = 'ok';
    const ready = await fetch(`${base}/healthz/ready`);
    expect(ready.status).toBe(200);
    const detailed = (await (await fetch(`${base}/healthz`)).json()) as Record<string, Record<string, Record<string, unknown>>>;
    expect(detailed.components!.db).toMatchObject({ status: 'ok', critical: true, details: { pool: 3 } });
    expect(detailed.components!.cache).toMatchObject({ status: 'failing', critical: false });
    expect(detailed.system).toHaveProperty('memory.rss_bytes');
    expect(detailed.system).toHaveProperty('disk.free_bytes');
    expect(detailed.system).toHaveProperty('event_loop_lag_ms.p99');
    expect(detailed.system).toHaveProperty('cpu.user_seconds');
  });

  it('turns readiness 503 when a critical dependency fails or hangs, while liveness stays 200', async () => {
    for (const mode of ['fail', 'hang'] as const) {
      dbMode = mode;
      const ready = await fetch(`${base}/healthz/ready`, { signal: AbortSignal.timeout(5000) });
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'failing', failing: ['db'] });
      expect((await fetch(`${base}/healthz/live`)).status).toBe(200);
      const detailed = (await (await fetch(`${base}/healthz`)).json()) as { components: Record<string, { error: string }> };
      expect(detailed.components.db!.error).toBe(mode === 'fail' ? 'connection refused' : 'timed out after 300 ms');
    }
    dbMode = 'ok';
  });

  it('refuses a second init() with a clear error', () => {
    expect(() => init({ service: 'again', env: {} })).toThrow(/already called/);
  });

  it('times work into a histogram with timed() and helpers', async () => {
    expect(await wk.timed('checkout_duration_seconds', async () => 7)).toBe(7);
    await expect(wk.timed('checkout_duration_seconds', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    wk.metrics!.counter('orders_total', { help: 'Orders placed' }).inc();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('checkout_duration_seconds_count{outcome="success"} 1');
    expect(text).toContain('checkout_duration_seconds_count{outcome="error"} 1');
    expect(text).toContain('orders_total 1');
  });
});
