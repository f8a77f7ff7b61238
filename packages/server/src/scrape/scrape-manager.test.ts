import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { scrapeConfigSchema } from '../config/schema.js';
import { formatLabels, type Labels } from '../model/labels.js';
import { isStaleNaN } from '../model/samples.js';
import { createLogger } from '../selfobs/logger.js';
import { createSelfMetrics } from '../selfobs/metrics.js';
import { MemoryStorage } from '../storage/memory/memory-storage.js';
import { ScrapeManager } from './scrape-manager.js';
import { selfScrapeConfig } from './self-scrape.js';

interface Exposition {
  status: number;
  body: string;
  contentType: string;
  gzip: boolean;
  delayMs?: number;
}

/** A target whose response the test changes between scrapes. */
class FakeTarget {
  readonly server = http.createServer((req, res) => this.handle(req, res));
  response: Exposition = { status: 200, body: '', contentType: 'text/plain; version=0.0.4', gzip: false };
  requests: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  address = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push({ url: req.url ?? '', headers: req.headers });
    const r = this.response;
    const headers: Record<string, string> = { 'content-type': r.contentType };
    let body: Buffer = Buffer.from(r.body);
    if (r.gzip) {
      headers['content-encoding'] = 'gzip';
      body = gzipSync(body);
    }
    if (r.delayMs) setTimeout(() => res.writeHead(r.status, headers).end(body), r.delayMs);
    else res.writeHead(r.status, headers).end(body);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const logger = createLogger('silent');
const global = { scrapeIntervalMs: 60_000, scrapeTimeoutMs: 10_000, externalLabels: {} };

function job(config: Record<string, unknown>) {
  return scrapeConfigSchema.parse({ scrape_interval: '250ms', ...config });
}

/** Every series in the storage with its full sample history. */
async function dump(storage: MemoryStorage): Promise<Map<string, { t: number[]; v: number[] }>> {
  const all = await storage.querier(0, Number.MAX_SAFE_INTEGER).select([{ type: '=~', name: '__name__', value: '.+' }], { start: 0, end: Number.MAX_SAFE_INTEGER });
  return new Map(all.map((s) => [formatLabels(s.labels), { t: [...s.timestamps], v: [...s.values] }]));
}

async function last(storage: MemoryStorage, series: string): Promise<number | undefined> {
  const s = (await dump(storage)).get(series);
  return s?.v[s.v.length - 1];
}

const waitOpts = { timeout: 5000, interval: 20 };

describe('ScrapeManager', () => {
  const target = new FakeTarget();
  let dir = '';
  let manager: ScrapeManager | null = null;

  beforeAll(async () => {
    await target.start();
    dir = await mkdtemp(join(tmpdir(), 'wk-scrape-'));
  });
  afterEach(async () => {
    await manager?.stop();
    manager = null;
    target.requests = [];
    target.response = { status: 200, body: '', contentType: 'text/plain; version=0.0.4', gzip: false };
  });
  afterAll(async () => {
    await target.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function start(storage: MemoryStorage, configs: Record<string, unknown>[], registry = new Registry()): ScrapeManager {
    manager = new ScrapeManager({ appendable: storage, logger, registry, configDir: dir });
    manager.applyConfig(configs.map(job), global);
    return manager;
  }

  it('appends values, report series and metadata, sending Prometheus headers', async () => {
    target.response.body = [
      '# HELP reqs_total Requests served.',
      '# TYPE reqs_total counter',
      'reqs_total{code="200"} 10',
      'reqs_total{code="500"} 2',
      '# TYPE lat histogram',
      'lat_bucket{le="0.1"} 1',
      'lat_bucket{le="+Inf"} 3',
      'lat_sum 0.9',
      'lat_count 3',
    ].join('\n');
    target.response.gzip = true;
    const storage = new MemoryStorage();
    start(storage, [{ job_name: 'app', static_configs: [{ targets: [target.address], labels: { env: 'test' } }] }]);
    const inst = `env="test", instance="${target.address}", job="app"`;
    await vi.waitFor(async () => expect(await last(storage, `up{${inst}}`)).toBe(1), waitOpts);
    const series = await dump(storage);
    const reqs = series.get(`reqs_total{code="200", ${inst}}`)!;
    expect(reqs.v[0]).toBe(10);
    expect(series.get(`lat_bucket{${inst}, le="+Inf"}`)!.v[0]).toBe(3);
    // The report of the first successful scrape (an earlier one may have timed out on a busy machine),
    // found by its timestamp: every sample of one scrape shares it.
    const firstOk = reqs.t[0]!;
    const reportAt = (name: string) => {
      const s = series.get(`${name}{${inst}}`)!;
      return s.v[s.t.indexOf(firstOk)];
    };
    expect(reportAt('up')).toBe(1);
    expect(reportAt('scrape_samples_scraped')).toBe(6);
    expect(reportAt('scrape_samples_post_metric_relabeling')).toBe(6);
    expect(reportAt('scrape_series_added')).toBe(6);
    expect(reportAt('scrape_duration_seconds')).toBeGreaterThanOrEqual(0);
    expect(storage.metadata('reqs_total').get('reqs_total')).toEqual([{ type: 'counter', help: 'Requests served.', unit: '' }]);
    const request = target.requests.find((r) => r.headers['x-prometheus-scrape-timeout-seconds'] === '0.25')!;
    expect(request.headers.accept).toContain('application/openmetrics-text;version=1.0.0');
    const [active] = manager!.targets().active;
    expect(active!.target.health).toBe('up');
    expect(active!.target.lastError).toBe('');
  });

  it('marks series that disappear, and all series when the target goes down, stale', async () => {
    target.response.body = 'a 1\nb 2\n';
    const storage = new MemoryStorage();
    start(storage, [{ job_name: 'stale', static_configs: [{ targets: [target.address] }] }]);
    const inst = `instance="${target.address}", job="stale"`;
    await vi.waitFor(async () => expect(await last(storage, `b{${inst}}`)).toBe(2), waitOpts);
    target.response.body = 'a 1\n';
    await vi.waitFor(async () => expect(isStaleNaN((await last(storage, `b{${inst}}`))!)).toBe(true), waitOpts);
    await vi.waitFor(async () => expect(await last(storage, `a{${inst}}`)).toBe(1), waitOpts);
    target.response.status = 500;
    await vi.waitFor(async () => expect(await last(storage, `up{${inst}}`)).toBe(0), waitOpts);
    expect(isStaleNaN((await last(storage, `a{${inst}}`))!)).toBe(true);
    const [active] = manager!.targets().active;
    expect(active!.target.health).toBe('down');
    expect(active!.target.lastError).toBe('server returned HTTP status 500 Internal Server Error');
  });

  it('fails the scrape on a parse error, naming the line', async () => {
    target.response.body = 'ok 1\nbad{ 2\n';
    const storage = new MemoryStorage();
    start(storage, [{ job_name: 'parse', static_configs: [{ targets: [target.address] }] }]);
    await vi.waitFor(() => expect(manager!.targets().active[0]!.target.lastError).toMatch(/^line 2: /), waitOpts);
    const series = await dump(storage);
    expect(series.has(`ok{instance="${target.address}", job="parse"}`)).toBe(false);
    expect(series.get(`up{instance="${target.address}", job="parse"}`)!.v[0]).toBe(0);
  });

  it('resolves label conflicts with exported_ unless honor_labels is set', async () => {
    target.response.body = 'm{job="other",instance="x",exported_job="taken"} 1\n';
    const storage = new MemoryStorage();
    start(storage, [
      { job_name: 'plain', static_configs: [{ targets: [target.address] }] },
      { job_name: 'honor', honor_labels: true, static_configs: [{ targets: [target.address] }] },
    ]);
    await vi.waitFor(async () => expect((await dump(storage)).size).toBeGreaterThanOrEqual(12), waitOpts);
    const names = [...(await dump(storage)).keys()].filter((k) => k.startsWith('m{'));
    expect(names.sort()).toEqual([
      `m{exported_exported_job="other", exported_instance="x", exported_job="taken", instance="${target.address}", job="plain"}`,
      'm{exported_job="taken", instance="x", job="other"}',
    ]);
  });

  it('applies metric_relabel_configs and enforces sample_limit', async () => {
    target.response.body = 'keep_me 1\ndrop_me 2\nalso 3\n';
    const storage = new MemoryStorage();
    const registry = new Registry();
    start(
      storage,
      [
        { job_name: 'relabel', metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'drop_.*', action: 'drop' }], static_configs: [{ targets: [target.address] }] },
        { job_name: 'limited', sample_limit: 1, static_configs: [{ targets: [target.address] }] },
      ],
      registry,
    );
    const rel = `instance="${target.address}", job="relabel"`;
    const lim = `instance="${target.address}", job="limited"`;
    await vi.waitFor(async () => {
      expect(await last(storage, `up{${rel}}`)).toBe(1);
      expect(await last(storage, `up{${lim}}`)).toBe(0);
    }, waitOpts);
    const series = await dump(storage);
    expect(series.has(`drop_me{${rel}}`)).toBe(false);
    // Max over scrapes: a scrape that timed out on a busy machine reports 0.
    expect(Math.max(...series.get(`scrape_samples_scraped{${rel}}`)!.v)).toBe(3);
    expect(Math.max(...series.get(`scrape_samples_post_metric_relabeling{${rel}}`)!.v)).toBe(2);
    expect(series.has(`keep_me{${lim}}`)).toBe(false);
    // Polled: on a busy machine the latest scrape may have timed out instead (its error is then the timeout).
    const limited = () => manager!.targets().active.find((a) => a.scrapePool === 'limited')!;
    await vi.waitFor(() => expect(limited().target.lastError).toMatch(/sample limit exceeded/), waitOpts);
    expect((await registry.getSingleMetric('watchkeeper_scrape_sample_limit_exceeded_total')!.get()).values[0]!.value).toBeGreaterThan(0);
  });

  it('parses OpenMetrics by Content-Type and counts dropped exemplars', async () => {
    target.response = {
      status: 200,
      gzip: false,
      contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
      body: '# TYPE c counter\n# HELP c Things.\nc_total 5 # {trace_id="abc"} 1\nc_created 1.6e9\n# EOF\n',
    };
    const storage = new MemoryStorage();
    const registry = new Registry();
    start(storage, [{ job_name: 'om', static_configs: [{ targets: [target.address] }] }], registry);
    await vi.waitFor(async () => expect(await last(storage, `c_total{instance="${target.address}", job="om"}`)).toBe(5), waitOpts);
    expect(await last(storage, `c_created{instance="${target.address}", job="om"}`)).toBe(1.6e9);
    expect(storage.metadata('c').get('c')).toEqual([{ type: 'counter', help: 'Things.', unit: '' }]);
    expect((await registry.getSingleMetric('watchkeeper_scrape_exemplars_dropped_total')!.get()).values[0]!.value).toBeGreaterThan(0);
  });

  it('lists relabel-dropped targets and ends removed targets with staleness markers', async () => {
    target.response.body = 'x 1\n';
    const storage = new MemoryStorage();
    const configs = [
      {
        job_name: 'kept',
        static_configs: [{ targets: [target.address, 'dropped.example:9'] }],
        relabel_configs: [{ source_labels: ['__address__'], regex: 'dropped.*', action: 'drop' }],
      },
    ];
    const m = start(storage, configs);
    expect(m.targets().active.map((a) => a.target.url)).toEqual([`http://${target.address}/metrics`]);
    expect(m.targets().dropped.map((d) => formatLabels(d.discoveredLabels))).toEqual([
      '{__address__="dropped.example:9", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="250ms", __scrape_timeout__="250ms", job="kept"}',
    ]);
    const inst = `instance="${target.address}", job="kept"`;
    await vi.waitFor(async () => expect(await last(storage, `x{${inst}}`)).toBe(1), waitOpts);
    m.applyConfig(configs.map(job), global); // Idempotent: nothing changes.
    expect(m.targets().active).toHaveLength(1);
    m.applyConfig([], global);
    expect(m.targets().active).toHaveLength(0);
    await m.settled();
    expect(isStaleNaN((await last(storage, `x{${inst}}`))!)).toBe(true);
    expect(isStaleNaN((await last(storage, `up{${inst}}`))!)).toBe(true);
  });

  it('reloads a changed job in place: the target keeps scraping, relabeled series switch over', async () => {
    target.response.body = 'a 1\n';
    const storage = new MemoryStorage();
    const base = { job_name: 'reload', static_configs: [{ targets: [target.address] }] };
    const m = start(storage, [base]);
    const inst = `instance="${target.address}", job="reload"`;
    await vi.waitFor(async () => expect(await last(storage, `a{${inst}}`)).toBe(1), waitOpts);
    const before = m.targets().active[0]!.target;
    m.applyConfig([job({ ...base, metric_relabel_configs: [{ target_label: 'x', replacement: 'y' }] })], global);
    expect(m.targets().active[0]!.target).toBe(before);
    await vi.waitFor(async () => expect(await last(storage, `a{${inst}, x="y"}`)).toBe(1), waitOpts);
    await vi.waitFor(async () => expect(isStaleNaN((await last(storage, `a{${inst}}`))!)).toBe(true), waitOpts);
    const up = (await dump(storage)).get(`up{${inst}}`)!;
    expect(up.v.every((v) => v === 1)).toBe(true);
  });

  it('discovers targets from file_sd files, follows changes and keeps the last good file', async () => {
    const file = join(dir, 'targets.json');
    await writeFile(file, JSON.stringify([{ targets: [target.address], labels: { team: 'a' } }]));
    const yamlFile = join(dir, 'more.yml');
    await writeFile(yamlFile, `- targets: ['${target.address}']\n  labels: {team: b, __metrics_path__: /other}\n`);
    target.response.body = 'y 1\n';
    const storage = new MemoryStorage();
    const registry = new Registry();
    const m = start(storage, [{ job_name: 'files', file_sd_configs: [{ files: ['*.json', 'more.yml'], refresh_interval: '1s' }] }], registry);
    const labelsOf = () => m.targets().active.map((a) => formatLabels(a.target.labels as Labels)).sort();
    await vi.waitFor(() => expect(labelsOf()).toHaveLength(2), waitOpts);
    expect(labelsOf()).toEqual([`{instance="${target.address}", job="files", team="a"}`, `{instance="${target.address}", job="files", team="b"}`]);
    expect(m.targets().active.map((a) => a.target.url).sort()).toEqual([`http://${target.address}/metrics`, `http://${target.address}/other`]);
    expect(m.targets().active[0]!.target.discoveredLabels.some((l) => l.name === '__meta_filepath')).toBe(true);

    await writeFile(file, JSON.stringify([{ targets: [target.address], labels: { team: 'c' } }]));
    await vi.waitFor(() => expect(labelsOf()[0]).toContain('team="b"'), waitOpts);
    await vi.waitFor(() => expect(labelsOf()[1]).toContain('team="c"'), waitOpts);

    await writeFile(file, '[{"targets": [');
    await vi.waitFor(async () => {
      expect((await registry.getSingleMetric('watchkeeper_scrape_file_sd_read_errors_total')!.get()).values[0]!.value).toBeGreaterThan(0);
    }, waitOpts);
    expect(labelsOf()[1]).toContain('team="c"');
  });

  it("scrapes prom-client's own exposition (the self-scrape job) without errors", async () => {
    const self = createSelfMetrics('test');
    self.httpDuration.observe({ method: 'GET', route: '/x', code: '200' }, 0.2);
    target.response = { status: 200, gzip: false, contentType: self.registry.contentType, body: await self.registry.metrics() };
    const storage = new MemoryStorage();
    manager = new ScrapeManager({ appendable: storage, logger, registry: new Registry(), configDir: dir });
    manager.applyConfig([selfScrapeConfig({ address: target.address, intervalMs: 250, bearerToken: 'self-token' })], global);
    const inst = `instance="${target.address}", job="watchkeeper"`;
    await vi.waitFor(async () => expect(await last(storage, `up{${inst}}`)).toBe(1), waitOpts);
    const series = await dump(storage);
    expect(series.get(`watchkeeper_http_request_duration_seconds_count{code="200", ${inst}, method="GET", route="/x"}`)!.v[0]).toBe(1);
    expect(target.requests.some((r) => r.headers.authorization === 'Bearer self-token')).toBe(true);
    expect(storage.metadata('watchkeeper_http_request_duration_seconds').get('watchkeeper_http_request_duration_seconds')![0]!.type).toBe('histogram');
  });

  it('honors explicit timestamps unless told not to, counting out-of-order samples', async () => {
    const t0 = Date.now() - 60_000;
    target.response.body = `m 1 ${t0}\n`;
    const storage = new MemoryStorage();
    const registry = new Registry();
    start(
      storage,
      [
        { job_name: 'ts', static_configs: [{ targets: [target.address] }] },
        { job_name: 'nots', honor_timestamps: false, static_configs: [{ targets: [target.address] }] },
      ],
      registry,
    );
    await vi.waitFor(async () => {
      const series = await dump(storage);
      expect(series.get(`m{instance="${target.address}", job="ts"}`)?.t).toEqual([t0]);
      expect(series.get(`m{instance="${target.address}", job="nots"}`)?.t.length).toBeGreaterThanOrEqual(2);
    }, waitOpts);
    expect((await dump(storage)).get(`m{instance="${target.address}", job="nots"}`)!.t[0]).toBeGreaterThan(t0 + 50_000);
    target.response.body = `m 2 ${t0 - 1000}\n`;
    const rejected = async () => (await registry.getSingleMetric('watchkeeper_scrape_samples_rejected_total')!.get()).values.find((v) => v.labels.reason === 'out_of_order')?.value ?? 0;
    await vi.waitFor(async () => expect(await rejected()).toBeGreaterThan(0), waitOpts);
    expect(manager!.targets().active.every((a) => a.target.health === 'up')).toBe(true);
  });

  it('times out slow targets and reads bearer tokens from files', async () => {
    target.response.body = 'slow 1\n';
    target.response.delayMs = 1000;
    await writeFile(join(dir, 'token'), 'secret-token\n');
    const storage = new MemoryStorage();
    start(storage, [{ job_name: 'slow', bearer_token_file: 'token', static_configs: [{ targets: [target.address] }] }]);
    await vi.waitFor(() => expect(manager!.targets().active[0]!.target.lastError).toBe('scrape timed out after 250ms'), waitOpts);
    expect(await last(storage, `up{instance="${target.address}", job="slow"}`)).toBe(0);
    expect(target.requests.find((r) => r.headers.authorization !== undefined)!.headers.authorization).toBe('Bearer secret-token');
  });

  it('lets a second manager share a registry (its target gauge takes over)', async () => {
    const registry = new Registry();
    const first = new ScrapeManager({ appendable: new MemoryStorage(), logger, registry, configDir: dir });
    const second = new ScrapeManager({ appendable: new MemoryStorage(), logger, registry, configDir: dir });
    second.applyConfig([job({ job_name: 'shared', static_configs: [{ targets: ['unreachable.invalid:1'] }] })], global);
    expect(await registry.metrics()).toContain('watchkeeper_scrape_targets{job="shared",state="active"} 1');
    await Promise.all([first.stop(), second.stop()]);
  });

  it('sends basic auth and params, and reports the scrape URL with them', async () => {
    target.response.body = 'z 1\n';
    const storage = new MemoryStorage();
    const m = start(storage, [
      {
        job_name: 'auth',
        basic_auth: { username: 'u', password: 'p' },
        params: { module: ['http_2xx', 'extra'] },
        static_configs: [{ targets: [target.address] }],
      },
    ]);
    // A request of an earlier test's aborted scrape may still arrive: look for this job's.
    await vi.waitFor(() => expect(target.requests.some((r) => r.url.includes('module='))).toBe(true), waitOpts);
    expect(target.requests.find((r) => r.url.includes('module='))!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(m.targets().active[0]!.target.url).toBe(`http://${target.address}/metrics?module=http_2xx&module=extra`);
    expect(formatLabels(m.targets().active[0]!.target.discoveredLabels)).toContain('__param_module="http_2xx"');
  });
});
