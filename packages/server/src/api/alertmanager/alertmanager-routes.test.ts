import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertManagerService } from '../../alerting/alertmanager-service.js';
import { parseAlertmanagerYaml } from '../../alerting/config/am-config.js';
import { HealthRegistry } from '../../selfobs/health.js';
import { createSelfMetrics } from '../../selfobs/metrics.js';
import { AccessControl, createToken } from '../auth.js';
import { createHttpServer } from '../http-server.js';
import { registerAlertmanagerApi } from './alertmanager-routes.js';

const CONFIG = `
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [severity="critical"]
      receiver: pager
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [job]
receivers:
  - name: default
  - name: pager
    pagerduty_configs: [{routing_key: top-secret-key, url: 'http://127.0.0.1:1/'}]
    webhook_configs: [{url: 'http://hook.example/token-in-path', send_resolved: false}]
`;

let app: FastifyInstance;
let service: AlertManagerService;
let dir: string;
const ingest = createToken('prometheus', ['ingest']);
const reader = createToken('reader', ['read']);
const admin = createToken('admin', ['admin', 'read']);
const auth = (t: { token: string }) => ({ authorization: `Bearer ${t.token}` });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wk-am-api-'));
  const logger = pino({ level: 'silent' });
  const metrics = createSelfMetrics('test');
  service = new AlertManagerService({ dataDir: dir, logger, registry: metrics.registry, health: new HealthRegistry(), externalUrl: 'http://wk.test' });
  await service.applyConfig(parseAlertmanagerYaml(CONFIG, 'am.yml'));
  const access = new AccessControl([ingest.entry, reader.entry, admin.entry]);
  app = createHttpServer({ logger, metrics, accessControl: () => access, bodyLimitBytes: 1 << 20 });
  registerAlertmanagerApi(app, { service, version: '1.2.3' });
  await app.ready();
});

afterAll(async () => {
  await service.stop();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

const soon = () => new Date(Date.now() + 3600_000).toISOString();

describe('Alertmanager API v2', () => {
  it('accepts alerts with the ingest scope only', async () => {
    const payload = [
      { labels: { alertname: 'Down', severity: 'critical', job: 'api' }, annotations: { summary: 'down' }, startsAt: new Date().toISOString(), endsAt: soon(), generatorURL: 'http://prom/graph' },
      { labels: { alertname: 'Slow', severity: 'warning', job: 'api' }, endsAt: soon() },
      { labels: { alertname: 'Slow', severity: 'warning', job: 'db' } },
    ];
    expect((await app.inject({ method: 'POST', url: '/api/v2/alerts', payload, headers: auth(reader) })).statusCode).toBe(403);
    const res = await app.inject({ method: 'POST', url: '/api/v2/alerts', payload, headers: auth(ingest) });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    [{ labels: {} }, 'at least one label pair required'],
    ['not a list', 'expected a JSON array of alerts'],
    [[{ annotations: {} }], 'alerts[0].labels: is required'],
    [[{ labels: { a: 1 } }], 'alerts[0].labels.a: expected a string'],
    [[{ labels: { a: 'b' }, startsAt: 'yesterday' }], 'alerts[0].startsAt: "yesterday" is not an RFC 3339 date-time'],
    [[{ labels: { a: 'b' }, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }], 'start time must be before end time'],
    [[{ labels: { 'bad-name': 'x' } }], 'invalid label name "bad-name"'],
  ])('rejects %j with 400', async (body, message) => {
    const payload = Array.isArray(body) || typeof body === 'string' ? body : [body];
    const res = await app.inject({ method: 'POST', url: '/api/v2/alerts', payload: JSON.stringify(payload), headers: { ...auth(ingest), 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain(message);
  });

  it('lists alerts with status, receivers and filters', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v2/alerts', headers: auth(reader) });
    const alerts = res.json() as { labels: Record<string, string>; receivers: { name: string }[]; status: { state: string; inhibitedBy: string[] }; fingerprint: string; updatedAt: string }[];
    expect(alerts).toHaveLength(3);
    const down = alerts.find((a) => a.labels.alertname === 'Down')!;
    expect(down).toMatchObject({ receivers: [{ name: 'pager' }], status: { state: 'active', silencedBy: [], inhibitedBy: [] }, annotations: { summary: 'down' }, generatorURL: 'http://prom/graph' });
    const slowApi = alerts.find((a) => a.labels.alertname === 'Slow' && a.labels.job === 'api')!;
    expect(slowApi.status).toEqual({ state: 'suppressed', silencedBy: [], inhibitedBy: [down.fingerprint] });
    const q = async (query: string) => ((await app.inject({ method: 'GET', url: `/api/v2/alerts?${query}`, headers: auth(reader) })).json() as typeof alerts).map((a) => `${a.labels.alertname}/${a.labels.job}`).sort();
    expect(await q('inhibited=false')).toEqual(['Down/api', 'Slow/db']);
    expect(await q('filter=job%3D%22db%22')).toEqual(['Slow/db']);
    expect(await q('filter=severity%3D~%22crit.*%22&filter=job%3Dapi')).toEqual(['Down/api']);
    expect(await q('receiver=pag.*')).toEqual(['Down/api']);
    expect(await q('active=false')).toEqual(['Slow/api']);
    const bad = await app.inject({ method: 'GET', url: '/api/v2/alerts?filter=%3Dx', headers: auth(reader) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toContain('bad matcher format');
  });

  it('lists alert groups by receiver', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v2/alerts/groups', headers: auth(reader) });
    const groups = (res.json() as { labels: Record<string, string>; receiver: { name: string }; alerts: unknown[] }[]).map((g) => `${g.receiver.name}:${g.labels.alertname}:${g.alerts.length}`).sort();
    expect(groups).toEqual(['default:Slow:2', 'pager:Down:1']);
  });

  it('creates, updates, lists, gets and expires silences', async () => {
    const silence = {
      matchers: [{ name: 'job', value: 'db', isRegex: false }],
      startsAt: new Date().toISOString(),
      endsAt: soon(),
      createdBy: 'alice',
      comment: 'db maintenance',
    };
    expect((await app.inject({ method: 'POST', url: '/api/v2/silences', payload: silence, headers: auth(reader) })).statusCode).toBe(403);
    const created = await app.inject({ method: 'POST', url: '/api/v2/silences', payload: silence, headers: auth(admin) });
    expect(created.statusCode).toBe(200);
    const id = (created.json() as { silenceID: string }).silenceID;
    const got = (await app.inject({ method: 'GET', url: `/api/v2/silence/${id}`, headers: auth(reader) })).json();
    expect(got).toMatchObject({ id, status: { state: 'active' }, createdBy: 'alice', comment: 'db maintenance', matchers: [{ name: 'job', value: 'db', isRegex: false, isEqual: true }] });
    const silenced = (await app.inject({ method: 'GET', url: '/api/v2/alerts?silenced=false', headers: auth(reader) })).json() as { labels: Record<string, string> }[];
    expect(silenced.map((a) => a.labels.job).sort()).toEqual(['api', 'api']);

    // Same matchers, later end: updated in place. Different matchers: a new silence replaces it.
    const updated = await app.inject({ method: 'POST', url: '/api/v2/silences', payload: { ...silence, id, startsAt: got.startsAt, endsAt: new Date(Date.now() + 7200_000).toISOString() }, headers: auth(admin) });
    expect(updated.json()).toEqual({ silenceID: id });
    const replaced = await app.inject({ method: 'POST', url: '/api/v2/silences', payload: { ...silence, id, matchers: [{ name: 'job', value: 'd.*', isRegex: true }] }, headers: auth(admin) });
    const newId = (replaced.json() as { silenceID: string }).silenceID;
    expect(newId).not.toBe(id);
    const list = (await app.inject({ method: 'GET', url: '/api/v2/silences', headers: auth(reader) })).json() as { id: string; status: { state: string } }[];
    expect(list.map((s) => [s.id, s.status.state])).toEqual([
      [newId, 'active'],
      [id, 'expired'],
    ]);
    expect((await app.inject({ method: 'DELETE', url: `/api/v2/silence/${newId}`, headers: auth(admin) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/v2/silence/${newId}`, headers: auth(reader) })).json().status.state).toBe('expired');
    expect((await app.inject({ method: 'GET', url: '/api/v2/silence/nope', headers: auth(reader) })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/v2/silence/nope', headers: auth(admin) })).statusCode).toBe(404);
  });

  it.each([
    [{ matchers: [], startsAt: 'x' }, 'matchers: at least one matcher required'],
    [{ matchers: [{ name: 'a', value: '', isRegex: false }], startsAt: new Date().toISOString(), endsAt: soon(), createdBy: 'a', comment: 'c' }, 'at least one matcher must not match the empty string'],
    [{ matchers: [{ name: 'a', value: '(', isRegex: true }], startsAt: new Date().toISOString(), endsAt: soon(), createdBy: 'a', comment: 'c' }, 'invalid label matcher 0'],
    [{ matchers: [{ name: 'a', value: 'b', isRegex: false }], startsAt: '2020-01-01T00:00:00Z', endsAt: '2020-01-02T00:00:00Z', createdBy: 'a', comment: 'c' }, "end time can't be in the past"],
    [{ matchers: [{ name: 'a', value: 'b', isRegex: false }], startsAt: new Date().toISOString(), endsAt: soon(), comment: 'c' }, 'createdBy: is required'],
  ])('rejects the silence %j', async (payload, message) => {
    const res = await app.inject({ method: 'POST', url: '/api/v2/silences', payload, headers: auth(admin) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain(message);
  });

  it('reports status and receivers', async () => {
    const status = (await app.inject({ method: 'GET', url: '/api/v2/status', headers: auth(reader) })).json();
    expect(status).toMatchObject({ cluster: { status: 'disabled', peers: [] }, versionInfo: { version: '1.2.3' } });
    expect(status.config.original).toContain('receiver: default');
    expect(status.config.original).toContain('routing_key: <secret>');
    expect(status.config.original).toContain('url: <secret>');
    expect(status.config.original).not.toContain('top-secret-key');
    expect(status.config.original).not.toContain('token-in-path');
    expect(Date.parse(status.uptime)).toBeLessThanOrEqual(Date.now());
    expect((await app.inject({ method: 'GET', url: '/api/v2/receivers', headers: auth(reader) })).json()).toEqual([{ name: 'default' }, { name: 'pager' }]);
  });
});
