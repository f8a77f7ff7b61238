/**
 * A Fastify service instrumented with the SDK against the real Watchkeeper process: it scrapes the
 * service's RED metrics, receives its traces and logs over OTLP and groups its errors into issues
 * that carry the trace id.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startWatchkeeper, tempDir, type RunningProcess } from '../../server/test/support/watchkeeper-process.js';
import { init, type Watchkeeper } from '../src/index.js';
import { memoryDestination, waitFor } from './support/telemetry-receiver.js';

const KEY = '0123456789abcdef0123456789abcdef';
const logs = memoryDestination();
let wk: Watchkeeper;
let app: FastifyInstance;
let watchkeeper: RunningProcess;
let dir = '';
let base = '';

async function api(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${watchkeeper.url}${path}`, { headers: { accept: 'application/json' } });
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  dir = tempDir('wk-sdk-fastify');
  // The service's port is chosen first so that Watchkeeper's config can name it as a scrape target.
  const port = await freePort();
  const configFile = join(dir, 'watchkeeper.yaml');
  writeFileSync(
    configFile,
    [
      'global:',
      '  scrape_interval: 1s',
      'self_scrape:',
      '  enabled: false',
      'scrape_configs:',
      '  - job_name: fastify-test',
      `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
      'projects:',
      '  - id: 3',
      '    name: shop',
      `    keys: [${KEY}]`,
      '',
    ].join('\n'),
  );
  watchkeeper = await startWatchkeeper({ args: ['--config', configFile] });
  wk = init({
    service: 'fastify-test',
    version: '2.0.0',
    environment: 'test',
    endpoint: watchkeeper.url,
    dsn: `http://${KEY}@127.0.0.1:${watchkeeper.port}/3`,
    logging: { destination: logs },
    tracing: { fastifyHookSpans: true },
    errors: { captureUncaught: false },
    env: {},
  });
  // Created after init(): @fastify/otel instruments Fastify instances as they initialise.
  app = Fastify();
  await app.register(wk.fastify);
  app.get('/orders/:id', async function loadOrder(req) {
    wk.logger.info({ order: (req.params as { id: string }).id }, 'order loaded');
    return { id: (req.params as { id: string }).id };
  });
  app.get('/boom', async () => {
    throw new TypeError('checkout total is undefined');
  });
  await app.listen({ port, host: '127.0.0.1' });
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await app?.close();
  await wk?.shutdown();
  await watchkeeper?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('@watchkeeper/node with Fastify and a real Watchkeeper', () => {
  it('echoes request ids and logs them with the trace id', async () => {
    const res = await fetch(`${base}/orders/17`, { headers: { 'x-request-id': 'req-fastify-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-fastify-1');
    expect(res.headers.get('x-process-time')).toMatch(/^\d+\.\d+$/);
    const line = logs.lines.find((l) => l.message === 'order loaded');
    expect(line).toMatchObject({ request_id: 'req-fastify-1', service: 'fastify-test', order: '17' });
    expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is scraped by Watchkeeper: RED metrics by route template', async () => {
    for (let i = 0; i < 3; i++) await fetch(`${base}/orders/${100 + i}`);
    await fetch(`${base}/healthz/live`);
    const query = encodeURIComponent('http_requests_total{job="fastify-test",route="/orders/:id",status="200"}');
    let value = 0;
    await waitFor(async () => {
      const body = (await api(`/api/v1/query?query=${query}`)) as { data?: { result?: { value: [number, string] }[] } };
      value = Number(body.data?.result?.[0]?.value[1] ?? 0);
      return value >= 4;
    }, 20_000);
    expect(value).toBeGreaterThanOrEqual(4);
    const raw = encodeURIComponent('count(http_requests_total{job="fastify-test",route=~"/orders/[0-9]+|/healthz.*"})');
    const none = (await api(`/api/v1/query?query=${raw}`)) as { data: { result: unknown[] } };
    expect(none.data.result).toEqual([]);
  });

  it('delivers the request trace over OTLP, fetched by id', async () => {
    const line = logs.lines.find((l) => l.message === 'order loaded' && l.request_id === 'req-fastify-1');
    const traceId = String(line?.trace_id);
    await wk.flush(5000);
    let text = '';
    await waitFor(async () => {
      const res = await fetch(`${watchkeeper.url}/api/traces/${traceId}`, { headers: { accept: 'application/json' } });
      text = res.status === 200 ? await res.text() : '';
      return text.includes('req-fastify-1');
    }, 15_000);
    expect(text).toContain('req-fastify-1');
    expect(text).toContain('/orders/:id');
    expect(text).toContain('handler - loadOrder');
  });

  it('ships logs that a LogQL query finds by request id', async () => {
    await wk.flush(5000);
    const q = encodeURIComponent('{service_name="fastify-test"} | request_id="req-fastify-1"');
    let found = '';
    await waitFor(async () => {
      found = JSON.stringify(await api(`/loki/api/v1/query_range?query=${q}&since=1h&limit=50`));
      return found.includes('order loaded');
    }, 15_000);
    expect(found).toContain('order loaded');
  });

  it('sends a 5xx as an error that Watchkeeper groups into an issue carrying the trace id and request id', async () => {
    for (const id of ['req-boom-1', 'req-boom-2']) {
      const res = await fetch(`${base}/boom`, { headers: { 'x-request-id': id } });
      expect(res.status).toBe(500);
    }
    expect(await wk.flush(5000)).toBe(true);
    let issue: Record<string, unknown> | undefined;
    await waitFor(async () => {
      const body = (await api('/api/v1/issues?project=shop')) as { data?: { issues?: Record<string, unknown>[] } };
      issue = body.data?.issues?.find((i) => String(i.title).includes('checkout total is undefined'));
      return Number(issue?.count ?? 0) >= 2;
    }, 15_000);
    expect(issue).toMatchObject({ type: 'TypeError', count: 2, level: 'error' });
    const detail = (await api(`/api/v1/issues/${String(issue!.id)}`)) as { data: { latest_event: Record<string, unknown> } };
    const event = detail.data.latest_event;
    expect(String(event.traceId)).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(event.tags)).toContain('req-boom-');
    expect(event.release).toBe('2.0.0');
  });
});
