/**
 * The real amtool (Alertmanager's own API v2 client, which validates every response against the
 * OpenAPI schema) works against Watchkeeper: alert add and query, silence add, query and expire,
 * config show.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertManagerService } from '../../alerting/alertmanager-service.js';
import { parseAlertmanagerYaml } from '../../alerting/config/am-config.js';
import { HealthRegistry } from '../../selfobs/health.js';
import { createSelfMetrics } from '../../selfobs/metrics.js';
import { AccessControl } from '../auth.js';
import { createHttpServer } from '../http-server.js';
import { registerAlertmanagerApi } from './alertmanager-routes.js';

const exec = promisify(execFile);
const AMTOOL = '/usr/bin/amtool';
const hasAmtool = existsSync(AMTOOL);
if (!hasAmtool && process.env.CI) throw new Error('amtool is required under CI (apt-get install prometheus-alertmanager)');
if (!hasAmtool) console.warn('skipping the amtool client test: /usr/bin/amtool is not installed');

const CONFIG = 'route:\n  receiver: team\n  group_by: [alertname]\nreceivers:\n  - name: team\n';

describe.skipIf(!hasAmtool)('amtool as a client of the Alertmanager API v2', () => {
  let dir: string;
  let service: AlertManagerService;
  let app: FastifyInstance;
  let url = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wk-amtool-'));
    const logger = pino({ level: 'silent' });
    const metrics = createSelfMetrics('test');
    service = new AlertManagerService({ dataDir: dir, logger, registry: metrics.registry, health: new HealthRegistry(), externalUrl: 'http://wk.test' });
    await service.applyConfig(parseAlertmanagerYaml(CONFIG, 'am.yml'));
    app = createHttpServer({ logger, metrics, accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerAlertmanagerApi(app, { service, version: '1.0.0' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await service.stop();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const amtool = async (...args: string[]): Promise<string> => (await exec(AMTOOL, [`--alertmanager.url=${url}`, ...args])).stdout;

  it('adds and queries alerts', async () => {
    await amtool('alert', 'add', 'alertname=DiskFull', 'instance=db-1', '--annotation=summary=disk is full');
    const alerts = JSON.parse(await amtool('alert', 'query', '-o', 'json')) as { labels: Record<string, string>; receivers: { name: string }[]; status: { state: string } }[];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ labels: { alertname: 'DiskFull', instance: 'db-1' }, receivers: [{ name: 'team' }], status: { state: 'active' } });
  });

  it('adds, queries and expires a silence that suppresses the alert', async () => {
    const id = (await amtool('silence', 'add', 'alertname=DiskFull', '--comment=replacing the disk', '--author=alice', '--duration=1h')).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const silences = JSON.parse(await amtool('silence', 'query', '-o', 'json')) as { id: string; createdBy: string; status: { state: string } }[];
    expect(silences).toMatchObject([{ id, createdBy: 'alice', status: { state: 'active' } }]);
    const suppressed = JSON.parse(await amtool('alert', 'query', '--silenced', '-o', 'json')) as { status: { state: string; silencedBy: string[] } }[];
    expect(suppressed[0]!.status).toMatchObject({ state: 'suppressed', silencedBy: [id] });
    await amtool('silence', 'expire', id);
    expect(JSON.parse(await amtool('silence', 'query', '-o', 'json'))).toEqual([]);
    const expired = JSON.parse(await amtool('silence', 'query', '--expired', '-o', 'json')) as { id: string }[];
    expect(expired.map((s) => s.id)).toEqual([id]);
  });

  it('shows the running configuration', async () => {
    expect(await amtool('config', 'show')).toContain('receiver: team');
  });
});
