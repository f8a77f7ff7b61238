/** The real Debian `prometheus` scrapes an SDK-instrumented node:http service's /metrics. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/test/support/watchkeeper-process.js';
import { init, type Watchkeeper } from '../src/index.js';
import { memoryDestination, waitFor } from './support/telemetry-receiver.js';

const PROMETHEUS = 'prometheus';
const available = spawnSync(PROMETHEUS, ['--version'], { stdio: 'ignore' }).status === 0;
if (!available && !process.env.CI) console.warn(`prometheus-scrape: skipped because the "${PROMETHEUS}" binary is not installed (apt-get install -y prometheus)`);

describe.skipIf(!available && !process.env.CI)('@watchkeeper/node scraped by the real Prometheus', () => {
  let wk: Watchkeeper;
  let server: Server;
  let prometheus: ChildProcess | null = null;
  let dir = '';
  let promUrl = '';

  beforeAll(async () => {
    expect(available, `the "${PROMETHEUS}" binary is required under CI`).toBe(true);
    wk = init({ service: 'prom-test', tracing: false, logging: { destination: memoryDestination() }, errors: false, env: {} });
    server = createServer(wk.httpHandler((_req, res) => void res.writeHead(200).end('ok')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const target = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    for (let i = 0; i < 3; i++) await fetch(`http://${target}/products/${i}`);
    dir = await mkdtemp(join(tmpdir(), 'wk-sdk-prom-'));
    const configFile = join(dir, 'prometheus.yml');
    await writeFile(configFile, `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: sdk\n    static_configs: [{ targets: ['${target}'] }]\n`);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(PROMETHEUS, [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  });

  afterAll(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await new Promise((r) => server?.close(r));
    await wk?.shutdown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports the target up and stores the RED series by route template', async () => {
    const query = async (q: string) => {
      try {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
        return ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
      } catch {
        return [];
      }
    };
    let result: Awaited<ReturnType<typeof query>> = [];
    await waitFor(async () => {
      result = await query('http_requests_total{job="sdk"}');
      return result.length > 0;
    }, 30_000);
    expect(result).toEqual([{ metric: expect.objectContaining({ route: '/products/:id', method: 'GET', status: '200' }), value: [expect.any(Number), '3'] }]);
    expect((await query('up{job="sdk"}'))[0]?.value[1]).toBe('1');
    expect((await query('scrape_samples_scraped{job="sdk"}'))[0]?.value[1]).not.toBe('0');
  });
});
