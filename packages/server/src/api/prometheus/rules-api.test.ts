/**
 * GET /api/v1/rules and GET /api/v1/alerts against the real Prometheus 2.42: both load the same rule
 * file over the same `up` series (Prometheus scrapes itself; Watchkeeper gets that series written),
 * and the JSON must be identical once times and durations are masked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/watchkeeper-process.js';
import { labelsFromRecord } from '../../model/labels.js';
import { Engine } from '../../promql/index.js';
import { RuleManager } from '../../rules/index.js';
import { HealthRegistry } from '../../selfobs/health.js';
import { createLogger } from '../../selfobs/logger.js';
import { createSelfMetrics } from '../../selfobs/metrics.js';
import { MemoryStorage } from '../../storage/memory/memory-storage.js';
import { AccessControl } from '../auth.js';
import { createHttpServer } from '../http-server.js';
import { formatAlertValue, registerRulesApi } from './rules-api.js';

const PROMETHEUS = '/usr/bin/prometheus';
const prometheusMissing = !existsSync(PROMETHEUS) && !process.env.CI;
if (prometheusMissing) console.warn('prometheus is not installed (apt-get install prometheus): skipping the rules API comparison with Prometheus');

const RULES = `groups:
  - name: availability
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: core}
      - record: up:count
        expr: count(up)
      - alert: Up
        expr: up == 1
        keep_firing_for: 1m
        labels: {severity: info}
        annotations:
          summary: "{{ $labels.job }} on {{ $labels.instance }} is up ({{ $value }})"
      - alert: UpForAnHour
        expr: up == 1
        for: 1h
      - alert: Never
        expr: up == 2
  - name: a-broken
    interval: 1s
    rules:
      - alert: NotAVector
        expr: '"text"'
`;

/** Masks what differs between two runs by nature: evaluation times and durations. */
function masked(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (key, value) => {
    if (key === 'evaluationTime') return 'DURATION';
    if (key === 'lastEvaluation' || key === 'activeAt') return 'TIME';
    return value;
  });
}

describe('formatAlertValue', () => {
  it.each([
    [1, '1e+00'],
    [0.0512, '5.12e-02'],
    [123456789, '1.23456789e+08'],
    [NaN, 'NaN'],
    [-Infinity, '-Inf'],
  ])('%s → %s (Go strconv.FormatFloat with e)', (v, text) => {
    expect(formatAlertValue(v)).toBe(text);
  });
});

describe.skipIf(prometheusMissing)('rules API against Prometheus 2.42', () => {
  let dir = '';
  let prometheus: ChildProcess | null = null;
  let promUrl = '';
  let app: FastifyInstance;
  let manager: RuleManager;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wk-rules-api-'));
    const rulesFile = join(dir, 'rules.yml');
    await writeFile(rulesFile, RULES);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [${JSON.stringify(rulesFile)}]\nscrape_configs: [{job_name: self, static_configs: [{targets: ['127.0.0.1:${port}']}]}]\n`,
    );
    prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    // Ready once every rule has been evaluated and the Up alert fires.
    const deadline = Date.now() + 20_000;
    for (;;) {
      // Until its storage is up Prometheus refuses connections or answers 503 in plain text.
      const body = await fetch(`${promUrl}/api/v1/rules`)
        .then((r) => (r.ok ? r.json() : null))
        .catch(() => null);
      const groups: { name: string; rules: { state?: string; health: string }[] }[] = body?.data?.groups ?? [];
      const rules = groups.find((g) => g.name === 'availability')?.rules ?? [];
      const evaluated = groups.length === 2 && groups.every((g) => g.rules.every((r) => r.health !== 'unknown'));
      if (evaluated && rules.some((r) => r.state === 'firing') && rules.every((r) => r.health === 'ok')) break;
      if (Date.now() > deadline) throw new Error('Prometheus did not evaluate the rules in time');
      await new Promise((r) => setTimeout(r, 200));
    }

    const storage = new MemoryStorage();
    const now = Date.now();
    const appender = storage.appender();
    appender.append(0, labelsFromRecord({ __name__: 'up', job: 'self', instance: `127.0.0.1:${port}` }), now - 1000, 1);
    await appender.commit();
    manager = new RuleManager({
      engine: new Engine(),
      queryable: storage,
      appendable: storage,
      alertSink: { pushAlerts: (alerts) => ({ accepted: alerts.length, errors: [] }) },
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      health: new HealthRegistry(),
      externalUrl: 'http://localhost:9700',
    });
    expect(await manager.applyConfig([rulesFile], dir, 60_000)).toEqual([]);
    for (const group of manager.groups()) await group.evaluate(now);
    app = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerRulesApi(app, { ruleManager: manager });
    await app.ready();
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it.each([
    '/api/v1/rules',
    '/api/v1/rules?type=alert',
    '/api/v1/rules?type=record',
    '/api/v1/rules?type=RECORD',
    '/api/v1/rules?type=bogus',
    '/api/v1/alerts',
  ])('%s matches Prometheus', async (path) => {
    const theirs = await fetch(`${promUrl}${path}`);
    const ours = await app.inject({ method: 'GET', url: path });
    expect(ours.statusCode).toBe(theirs.status);
    expect(masked(ours.json())).toEqual(masked(await theirs.json()));
  });

  it('filters by rule_name[], rule_group[] and file[] (Prometheus 2.43+), dropping groups left empty', async () => {
    const byName = (await app.inject({ method: 'GET', url: '/api/v1/rules?rule_name[]=Up&rule_name[]=up:count' })).json();
    expect(byName.data.groups.map((g: { rules: { name: string }[] }) => g.rules.map((r) => r.name))).toEqual([['up:count', 'Up']]);
    const byGroup = (await app.inject({ method: 'GET', url: '/api/v1/rules?rule_group[]=a-broken' })).json();
    expect(byGroup.data.groups.map((g: { name: string }) => g.name)).toEqual(['a-broken']);
    expect(byGroup.data.groups[0].rules[0]).toMatchObject({ health: 'err', lastError: 'rule result is not a vector or scalar' });
    const byFile = (await app.inject({ method: 'GET', url: '/api/v1/rules?file[]=/nonexistent.yml' })).json();
    expect(byFile.data.groups).toEqual([]);
  });
});
