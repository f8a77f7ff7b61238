import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scrapeConfigSchema } from '../../config/schema.js';
import { ScrapeManager } from '../../scrape/index.js';
import { createLogger } from '../../selfobs/logger.js';
import { createSelfMetrics } from '../../selfobs/metrics.js';
import { MemoryStorage } from '../../storage/memory/memory-storage.js';
import { AccessControl } from '../auth.js';
import { createHttpServer } from '../http-server.js';
import { registerTargetsApi } from './targets-api.js';

describe('targets API', () => {
  const exposition = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('# HELP m A gauge.\n# TYPE m gauge\nm 1\n# TYPE c counter\nc_total 2\n');
  });
  let app: FastifyInstance;
  let manager: ScrapeManager;
  let address = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => exposition.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(exposition.address() as AddressInfo).port}`;
    manager = new ScrapeManager({ appendable: new MemoryStorage(), logger: createLogger('silent'), registry: new Registry(), configDir: tmpdir() });
    manager.applyConfig(
      [
        scrapeConfigSchema.parse({
          job_name: 'node',
          scrape_interval: '250ms',
          static_configs: [{ targets: [address, 'skip.example:80'] }],
          relabel_configs: [{ source_labels: ['__address__'], regex: 'skip.*', action: 'drop' }],
        }),
      ],
      { scrapeIntervalMs: 60_000, scrapeTimeoutMs: 10_000, externalLabels: {} },
    );
    app = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerTargetsApi(app, { scrapeManager: manager });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await manager.stop();
    exposition.closeAllConnections();
    await new Promise<void>((resolve) => exposition.close(() => resolve()));
  });

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as { status: string; data: Record<string, unknown[]> } & Record<string, unknown> };
  };

  it('lists active targets in Prometheus format', async () => {
    await vi.waitFor(() => expect(manager.targets().active[0]!.target.health).toBe('up'), { timeout: 5000, interval: 20 });
    const res = await get('/api/v1/targets');
    expect(res.status).toBe(200);
    const [target] = res.body.data.activeTargets as Record<string, unknown>[];
    expect(target).toMatchObject({
      discoveredLabels: {
        __address__: address,
        __metrics_path__: '/metrics',
        __scheme__: 'http',
        __scrape_interval__: '250ms',
        __scrape_timeout__: '250ms',
        job: 'node',
      },
      labels: { instance: address, job: 'node' },
      scrapePool: 'node',
      scrapeUrl: `http://${address}/metrics`,
      lastError: '',
      health: 'up',
      scrapeInterval: '250ms',
      scrapeTimeout: '250ms',
    });
    expect(target!.lastScrape).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof target!.lastScrapeDuration).toBe('number');
    expect(target!.globalUrl).toMatch(/^http:\/\/[^/]+:\d+\/metrics$/);
    expect(res.body.data.droppedTargets).toEqual([
      {
        discoveredLabels: {
          __address__: 'skip.example:80',
          __metrics_path__: '/metrics',
          __scheme__: 'http',
          __scrape_interval__: '250ms',
          __scrape_timeout__: '250ms',
          job: 'node',
        },
      },
    ]);
  });

  it('filters by state and scrape pool', async () => {
    expect((await get('/api/v1/targets?state=active')).body.data.droppedTargets).toEqual([]);
    const dropped = await get('/api/v1/targets?state=dropped');
    expect(dropped.body.data.activeTargets).toEqual([]);
    expect(dropped.body.data.droppedTargets).toHaveLength(1);
    expect((await get('/api/v1/targets?scrapePool=other')).body.data.activeTargets).toEqual([]);
  });

  it('serves target metadata with match_target, metric and limit', async () => {
    const all = await get('/api/v1/targets/metadata');
    expect(all.body.data).toEqual(
      expect.arrayContaining([
        { target: { instance: address, job: 'node' }, metric: 'm', type: 'gauge', help: 'A gauge.', unit: '' },
        { target: { instance: address, job: 'node' }, metric: 'c', type: 'counter', help: '', unit: '' },
      ]),
    );
    const one = await get('/api/v1/targets/metadata?metric=m&match_target=%7Bjob%3D%22node%22%7D');
    expect(one.body.data).toEqual([{ target: { instance: address, job: 'node' }, type: 'gauge', help: 'A gauge.', unit: '' }]);
    expect((await get('/api/v1/targets/metadata?limit=1')).body.data).toHaveLength(1);
    const none = await get('/api/v1/targets/metadata?match_target=%7Bjob%3D%22x%22%7D');
    expect(none.status).toBe(404);
    const bad = await get('/api/v1/targets/metadata?match_target=job');
    expect(bad).toMatchObject({ status: 400, body: { status: 'error', errorType: 'bad_data' } });
  });
});
