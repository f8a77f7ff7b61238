/**
 * Real-client interop: the Debian `prometheus` and Watchkeeper's ScrapeManager scrape the same
 * target with the same relabel and metric_relabel rules (including hashmod and labelmap); the
 * resulting series sets and latest values must match.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { scrapeConfigSchema } from '../src/config/schema.js';
import { formatLabels, labelsFromRecord } from '../src/model/labels.js';
import { isStaleNaN } from '../src/model/samples.js';
import { registerTargetsApi } from '../src/api/prometheus/targets-api.js';
import { AccessControl } from '../src/api/auth.js';
import { createHttpServer } from '../src/api/http-server.js';
import { ScrapeManager } from '../src/scrape/index.js';
import { createSelfMetrics } from '../src/selfobs/metrics.js';
import { createLogger } from '../src/selfobs/logger.js';
import { MemoryStorage } from '../src/storage/memory/memory-storage.js';

const PROMETHEUS = 'prometheus';
const available = spawnSync(PROMETHEUS, ['--version'], { stdio: 'ignore' }).status === 0;
if (!available && !process.env.CI) console.warn(`scrape-interop: skipped because the "${PROMETHEUS}" binary is not installed (apt-get install -y prometheus)`);

const startedAt = Date.now();

/** Several families, escaped label values, special values and an explicit timestamp. */
const TEXT_EXPOSITION = [
  '# HELP http_requests_total Requests by path.',
  '# TYPE http_requests_total counter',
  'http_requests_total{path="/api/users",code="200"} 1027',
  'http_requests_total{path="/api/orders",code="500"} 3',
  'http_requests_total{path="/health",code="200"} 9e3',
  '# TYPE temperature gauge',
  'temperature{room="a \\"quoted\\" room",note="back\\\\slash\\nnewline"} -12.5',
  'temperature{room="infinite"} +Inf',
  'temperature{room="unknown"} NaN',
  '# HELP latency_seconds Request latency.',
  '# TYPE latency_seconds histogram',
  'latency_seconds_bucket{le="0.1"} 10',
  'latency_seconds_bucket{le="0.5"} 25',
  'latency_seconds_bucket{le="+Inf"} 30',
  'latency_seconds_sum 7.25',
  'latency_seconds_count 30',
  '# TYPE rpc_seconds summary',
  'rpc_seconds{quantile="0.5"} 0.012',
  'rpc_seconds{quantile="0.99"} 0.25',
  'rpc_seconds_sum 17.5',
  'rpc_seconds_count 1200',
  '# TYPE drop_this_metric gauge',
  'drop_this_metric 1',
  'conflicting{job="exported",instance="inner"} 4',
  'untyped_thing 42',
  `with_timestamp 7 ${startedAt}`,
  '',
].join('\n');

const OPENMETRICS_EXPOSITION = [
  '# TYPE om_events counter',
  '# HELP om_events Events seen.',
  'om_events_total{kind="a"} 5 # {trace_id="abc123"} 1 1.6e9',
  'om_events_created{kind="a"} 1.6e9',
  '# TYPE om_build info',
  'om_build_info{version="1.2.3"} 1',
  '# TYPE om_state stateset',
  'om_state{om_state="on"} 1',
  'om_state{om_state="off"} 0',
  '# TYPE om_size_bytes gauge',
  '# UNIT om_size_bytes bytes',
  'om_size_bytes 2048',
  '# EOF',
  '',
].join('\n');

function scrapeConfigsYaml(address: string): unknown[] {
  const common = {
    scrape_interval: '1s',
    scrape_timeout: '1s',
    relabel_configs: [
      { source_labels: ['__address__'], target_label: 'shard', modulus: 1000, action: 'hashmod' },
      { source_labels: ['team', 'job'], separator: '-', target_label: 'team_shard', modulus: 97, action: 'hashmod' },
      { regex: '__meta_(.+)', replacement: 'meta_$1', action: 'labelmap' },
    ],
    metric_relabel_configs: [
      { source_labels: ['__name__'], regex: 'drop_this.*', action: 'drop' },
      { source_labels: ['path'], regex: '/api/(.*)', target_label: 'api', replacement: '${1}' },
      { source_labels: ['room'], target_label: 'room_upper', action: 'uppercase' },
    ],
  };
  return [
    { job_name: 'interop_text', ...common, static_configs: [{ targets: [address], labels: { team: 'core', __meta_zone: 'eu-1' } }] },
    { job_name: 'interop_om', ...common, metrics_path: '/om', static_configs: [{ targets: [address], labels: { team: 'edge' } }] },
  ];
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

interface PromVectorItem {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!available && !process.env.CI)('scrape interop with the real Prometheus', () => {
  let dir = '';
  let prometheus: ChildProcess | null = null;
  let promUrl = '';
  let manager: ScrapeManager | null = null;
  const storage = new MemoryStorage();
  const target = http.createServer((req, res) => {
    if (req.url === '/om') {
      res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(OPENMETRICS_EXPOSITION);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(TEXT_EXPOSITION);
    }
  });

  beforeAll(async () => {
    expect(available, `the "${PROMETHEUS}" binary is required under CI`).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'wk-scrape-interop-'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const configs = scrapeConfigsYaml(address);
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, stringifyYaml({ global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: configs }));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(PROMETHEUS, [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    // Watchkeeper reads the very same YAML, through its own schema.
    const parsed = (parseYaml(stringifyYaml(configs)) as unknown[]).map((c) => scrapeConfigSchema.parse(c));
    manager = new ScrapeManager({ appendable: storage, logger: createLogger('silent'), registry: new Registry(), configDir: dir });
    manager.applyConfig(parsed, { scrapeIntervalMs: 1000, scrapeTimeoutMs: 1000, externalLabels: {} });
  });

  afterAll(async () => {
    await manager?.stop();
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    target.closeAllConnections();
    await new Promise<void>((resolve) => target.close(() => resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function promQuery(query: string): Promise<PromVectorItem[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data: { result: PromVectorItem[] } };
    return body.data.result;
  }

  /** Latest non-stale value per series of the given jobs in Watchkeeper's storage. */
  async function watchkeeperLatest(): Promise<Map<string, number>> {
    const all = await storage.querier(0, Number.MAX_SAFE_INTEGER).select([{ type: '=~', name: 'job', value: 'interop_.*' }], { start: 0, end: Number.MAX_SAFE_INTEGER });
    const out = new Map<string, number>();
    for (const s of all) {
      const v = s.values[s.values.length - 1]!;
      if (!isStaleNaN(v)) out.set(formatLabels(s.labels), v);
    }
    return out;
  }

  it('stores the same series with the same latest values', async () => {
    const deadline = Date.now() + 20_000;
    let prom: PromVectorItem[] = [];
    // Wait until both have completed at least three scrapes of both jobs.
    for (;;) {
      try {
        prom = await promQuery('{job=~"interop_.*"}');
      } catch {
        prom = [];
      }
      const promScrapes = prom.filter((p) => p.metric.__name__ === 'up' && p.value[1] === '1').length;
      const wkUps = (await storage.querier(0, Number.MAX_SAFE_INTEGER).select([{ type: '=', name: '__name__', value: 'up' }], { start: 0, end: Number.MAX_SAFE_INTEGER })).filter(
        (s) => s.values.length >= 3 && s.values[s.values.length - 1] === 1,
      ).length;
      const promAdded = await promQuery('count_over_time(up{job=~"interop_.*"}[1m])').catch(() => []);
      if (promScrapes === 2 && wkUps === 2 && promAdded.length === 2 && promAdded.every((p) => Number(p.value[1]) >= 3)) break;
      if (Date.now() > deadline) {
        const targets = await fetch(`${promUrl}/api/v1/targets`).then((r) => r.text());
        throw new Error(`timed out: prometheus up=${promScrapes}, watchkeeper up=${wkUps}; prometheus targets: ${targets}`);
      }
      await sleep(250);
    }
    prom = await promQuery('{job=~"interop_.*"}');
    const ours = await watchkeeperLatest();
    const promValue = (text: string) => (text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text));
    const theirs = new Map(prom.map((p) => [formatLabels(labelsFromRecord(p.metric)), promValue(p.value[1])]));

    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [series, value] of theirs) {
      if (series.startsWith('scrape_duration_seconds')) continue; // Timing differs by nature.
      expect({ series, value: ours.get(series) }).toEqual({ series, value });
    }
    // The comparison covers what the rules produce, so check they produced something.
    const names = [...theirs.keys()];
    expect(names.some((n) => n.includes('shard="') && n.includes('team_shard="') && n.includes('meta_zone="eu-1"'))).toBe(true);
    expect(names.some((n) => n.includes('api="users"'))).toBe(true);
    expect(names.some((n) => n.includes('exported_job="exported"'))).toBe(true);
    expect(names.some((n) => n.startsWith('om_events_created'))).toBe(true);
    expect(names.some((n) => n.startsWith('drop_this'))).toBe(false);
  });

  it('answers /api/v1/targets like Prometheus', async () => {
    const app = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerTargetsApi(app, { scrapeManager: manager! });
    await app.ready();
    try {
      type TargetJson = Record<string, unknown> & { scrapePool: string };
      const stable = (t: TargetJson) => {
        const { lastScrape: _a, lastScrapeDuration: _b, ...rest } = t;
        return rest;
      };
      const byPool = (list: TargetJson[]) => list.map(stable).sort((a, b) => String(a.scrapePool).localeCompare(String(b.scrapePool)));
      // Health and last error are of the latest scrape: on a loaded machine one side's scrape may
      // just have timed out, so compare a few snapshots (bounded) before judging the last one.
      let ours: TargetJson[] = [];
      let theirs: TargetJson[] = [];
      for (let attempt = 0; attempt < 20; attempt++) {
        ours = ((await app.inject({ method: 'GET', url: '/api/v1/targets' })).json() as { data: { activeTargets: TargetJson[] } }).data.activeTargets;
        theirs = ((await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: TargetJson[] } }).data.activeTargets;
        if (JSON.stringify(byPool(ours)) === JSON.stringify(byPool(theirs))) break;
        await sleep(500);
      }
      expect(ours.map((t) => Object.keys(t))).toEqual(theirs.map((t) => Object.keys(t)));
      expect(byPool(ours)).toEqual(byPool(theirs));
    } finally {
      await app.close();
    }
  });

  it('records the same metric metadata per target', async () => {
    for (const job of ['interop_text', 'interop_om']) {
      const res = await fetch(`${promUrl}/api/v1/targets/metadata?match_target=${encodeURIComponent(`{job="${job}"}`)}`);
      const body = (await res.json()) as { data: { metric: string; type: string; help: string; unit: string }[] };
      const theirs = body.data.map((m) => `${m.metric} ${m.type} ${JSON.stringify(m.help)} ${m.unit}`).sort();
      const view = manager!.targetMetadata().find((t) => t.target.labels.some((l) => l.name === 'job' && l.value === job))!;
      const ours = [...view.metadata].map(([name, m]) => `${name} ${m.type} ${JSON.stringify(m.help)} ${m.unit}`).sort();
      expect(theirs.length).toBeGreaterThan(2);
      expect(ours).toEqual(theirs);
    }
  });
});
