/**
 * The real Prometheus (Debian 2.42) scrapes a static target and itself and remote-writes into the
 * receiver, authenticating with basic auth; what Watchkeeper stored must match what Prometheus
 * itself answers for the same series.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessControl, createToken } from '../../../api/auth.js';
import { formatLabels, type Labels } from '../../../model/labels.js';
import { createIngestHarness, seriesSamples, type IngestHarness } from '../../../../test/support/ingest-harness.js';
import { freePort, tempDir } from '../../../../test/support/watchkeeper-process.js';
import { registerRemoteWriteRoutes } from './remote-write-routes.js';

const PROMETHEUS = '/usr/bin/prometheus';
const available = existsSync(PROMETHEUS);
if (!available && process.env.CI) throw new Error(`${PROMETHEUS} is required under CI (apt-get install -y prometheus)`);
if (!available) console.warn(`skipping the Prometheus remote_write test: ${PROMETHEUS} is not installed`);

const EXPOSITION = [
  '# HELP room_temperature_celsius Temperature of a room.',
  '# TYPE room_temperature_celsius gauge',
  'room_temperature_celsius{room="kitchen"} 21.5',
  'room_temperature_celsius{room="cellar"} -3.25',
  '',
].join('\n');

describe.skipIf(!available)('Prometheus remote_write into Watchkeeper', () => {
  let h: IngestHarness;
  let target: Server;
  let prom: ChildProcess;
  let promUrl = '';
  let dir = '';

  beforeAll(async () => {
    const { token, entry } = createToken('prometheus', ['ingest']);
    h = createIngestHarness({ accessControl: new AccessControl([entry]) });
    registerRemoteWriteRoutes(h.app, { appendable: h.storage, logger: h.logger, registry: h.metrics.registry });
    const url = await h.listen();

    target = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(EXPOSITION));
    await new Promise<void>((ok) => target.listen(0, '127.0.0.1', ok));
    const targetPort = (target.address() as { port: number }).port;

    dir = tempDir('wk-prom-rw');
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s }',
        'scrape_configs:',
        `  - { job_name: prometheus, static_configs: [{ targets: ["127.0.0.1:${promPort}"] }] }`,
        `  - { job_name: static, static_configs: [{ targets: ["127.0.0.1:${targetPort}"], labels: { env: test } }] }`,
        'remote_write:',
        `  - url: ${url}/api/v1/write`,
        `    basic_auth: { username: prometheus, password: "${token}" }`,
        '    queue_config: { batch_send_deadline: 1s, max_samples_per_send: 2000, min_backoff: 100ms, max_backoff: 1s }',
        '    metadata_config: { send: true, send_interval: 1s }',
      ].join('\n'),
    );
    prom = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      { stdio: 'ignore' },
    );
  }, 30_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((ok) => prom.once('exit', ok));
      prom.kill('SIGTERM');
      await exited;
    }
    await new Promise((ok) => target?.close(ok));
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function promQuery(query: string, time: number): Promise<{ metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}&time=${time / 1000}`);
    const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] } };
    return body.data.result;
  }

  function asLabels(name: string, metric: Record<string, string>): string {
    const labels: Labels = Object.entries({ ...metric, __name__: name })
      .map(([n, value]) => ({ name: n, value }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return formatLabels(labels);
  }

  it('stores the same series and samples Prometheus has', async () => {
    const deadline = Date.now() + 40_000;
    const instance = `127.0.0.1:${(target.address() as { port: number }).port}`;
    const stored = (room: string) => seriesSamples(h.storage, `room_temperature_celsius{env="test", instance="${instance}", job="static", room="${room}"}`);
    let lastT = 0;
    for (let i = 0; i < 200 && Date.now() < deadline; i++) {
      const [kitchen, cellar] = [(await stored('kitchen')) ?? [], (await stored('cellar')) ?? []];
      if (kitchen.length >= 3 && cellar.length >= 3 && h.storage.metadata('room_temperature_celsius').size > 0) {
        // Compare up to the last timestamp both series have reached.
        lastT = Math.min(kitchen[kitchen.length - 1]![0], cellar[cellar.length - 1]![0]);
        break;
      }
      await new Promise((ok) => setTimeout(ok, 200));
    }
    expect(lastT).toBeGreaterThan(0);

    // Raw samples of the static target's gauges, as Prometheus stored them, up to what we received.
    for (const room of ['kitchen', 'cellar']) {
      const theirs = await promQuery(`room_temperature_celsius{room="${room}"}[1h]`, lastT);
      expect(theirs).toHaveLength(1);
      const series = asLabels('room_temperature_celsius', theirs[0]!.metric);
      const ours = (await seriesSamples(h.storage, series)) ?? [];
      const want = theirs[0]!.values!.map(([t, v]) => [Math.round(t * 1000), Number(v)]);
      expect(ours.filter(([t]) => t <= lastT)).toEqual(want);
    }

    // Label sets of `up` and `prometheus_build_info` match.
    for (const name of ['up', 'prometheus_build_info']) {
      const theirs = (await promQuery(name, lastT)).map((r) => asLabels(name, r.metric)).sort();
      expect(theirs.length).toBeGreaterThan(0);
      for (const series of theirs) expect(await seriesSamples(h.storage, series), series).toBeDefined();
    }

    // Every request Prometheus sent was accepted.
    const requests = await h.metrics.registry.getSingleMetric('watchkeeper_ingest_requests_total')!.get();
    expect(requests.values.map((v) => v.labels.code)).toEqual(['204']);

    // Metadata sent by Prometheus's metadata watcher.
    expect(h.storage.metadata('room_temperature_celsius').get('room_temperature_celsius')).toEqual([
      { type: 'gauge', help: 'Temperature of a room.', unit: '' },
    ]);
  }, 60_000);

  it('refuses remote writes without the token', async () => {
    const res = await fetch(`${h.url}/api/v1/write`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: 'x' });
    expect(res.status).toBe(401);
  });
});
