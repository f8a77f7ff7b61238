/**
 * The real `watchkeeper start` process: readiness, self metrics, request ids, configuration reload
 * (bad file kept out, SIGHUP), the access-control gate, port conflicts and a clean SIGTERM shutdown.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/api/auth.js';
import { request } from 'node:http';
import { snappyWriteRequest } from './support/remote-write-proto.js';
import { freePort, runCli, startWatchkeeper, tempDir, type RunningProcess } from './support/watchkeeper-process.js';

const READ_TOKEN = 'read-token-for-tests';
const INGEST_TOKEN = 'ingest-token-for-tests';
const ADMIN_TOKEN = 'admin-token-for-tests';

function tokensYaml(tokens: { name: string; token: string; scopes: string[] }[]): string {
  return `auth:\n  tokens:\n${tokens
    .map((t) => `    - name: ${t.name}\n      token_sha256: ${sha256Hex(t.token)}\n      scopes: [${t.scopes.join(', ')}]\n`)
    .join('')}`;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('watchkeeper start (process)', () => {
  const dir = tempDir('wk-proc');
  const configPath = join(dir, 'watchkeeper.yaml');
  const goodConfig = tokensYaml([
    { name: 'reader', token: READ_TOKEN, scopes: ['read'] },
    { name: 'ingester', token: INGEST_TOKEN, scopes: ['ingest'] },
    { name: 'operator', token: ADMIN_TOKEN, scopes: ['admin'] },
  ]);
  let wk: RunningProcess;

  beforeAll(async () => {
    writeFileSync(configPath, goodConfig);
    wk = await startWatchkeeper({ args: ['--config', configPath] });
  });

  afterAll(async () => {
    await wk?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('is live and ready, with a detailed health view', async () => {
    expect((await fetch(`${wk.url}/healthz/live`)).status).toBe(200);
    expect((await fetch(`${wk.url}/healthz/ready`)).status).toBe(200);
    const health = (await (await fetch(`${wk.url}/healthz`)).json()) as { status: string; version: string; components: Record<string, { status: string }> };
    expect(health.status).toBe('ok');
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(health.components.config?.status).toBe('ok');
  });

  it('prints the URLs it serves', () => {
    expect(wk.stderr.join('')).toContain(`UI and APIs            ${wk.url}`);
  });

  it('gates routes by scope: 401 without a token, 403 with the wrong scope, 200 with the right one', async () => {
    const none = await fetch(`${wk.url}/metrics`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ status: 'error', errorType: 'unauthorized' });
    const wrong = await fetch(`${wk.url}/metrics`, { headers: bearer(INGEST_TOKEN) });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toBe('token "ingester" lacks the "read" scope');
    expect((await fetch(`${wk.url}/metrics`, { headers: bearer('not-a-token') })).status).toBe(401);
    expect((await fetch(`${wk.url}/metrics`, { headers: bearer(READ_TOKEN) })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`prometheus:${READ_TOKEN}`).toString('base64')}`;
    expect((await fetch(`${wk.url}/metrics`, { headers: { authorization: basic } })).status).toBe(200);
    expect((await fetch(`${wk.url}/healthz/ready`)).status).toBe(200);
  });

  it('serves self metrics in Prometheus text format, leaving /metrics and /healthz out of request metrics', async () => {
    await fetch(`${wk.url}/no/such/route`, { headers: bearer(READ_TOKEN) });
    const res = await fetch(`${wk.url}/metrics`, { headers: bearer(READ_TOKEN) });
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // The GC histogram is declared at once; its samples appear after the first collection.
    expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);
    expect(text).toMatch(/^watchkeeper_build_info\{version="[^"]+",nodejs="v\d+/m);
    expect(text).toMatch(/^watchkeeper_http_requests_total\{method="GET",route="unmatched",code="404"\} 1$/m);
    expect(text).toMatch(/^watchkeeper_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="unmatched",code="404"\}/m);
    expect(text).not.toMatch(/route="\/metrics"/);
    expect(text).not.toMatch(/route="\/healthz/);
    expect(text).toMatch(/^watchkeeper_config_last_reload_successful 1$/m);
  });

  it('echoes a well-formed X-Request-ID, makes one otherwise, and logs it', async () => {
    const mine = await fetch(`${wk.url}/healthz/live`, { headers: { 'x-request-id': 'req-abc-123' } });
    expect(mine.headers.get('x-request-id')).toBe('req-abc-123');
    const corr = await fetch(`${wk.url}/healthz/live`, { headers: { 'x-correlation-id': 'corr-42' } });
    expect(corr.headers.get('x-request-id')).toBe('corr-42');
    const bad = await fetch(`${wk.url}/healthz/live`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await fetch(`${wk.url}/api/nothing`, { headers: { ...bearer(READ_TOKEN), 'x-request-id': 'trace-me-7' } });
    await new Promise((r) => setTimeout(r, 200));
    const line = wk.stdout.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.request_id === 'trace-me-7');
    expect(line).toMatchObject({ level: 'info', component: 'http', method: 'GET', route: 'unmatched', status: 404, msg: 'request served' });
    expect(typeof line?.duration_ms).toBe('number');
    expect(typeof line?.time).toBe('string');
    expect(wk.stdout.join('\n')).not.toContain(READ_TOKEN);
  });

  it('rejects a reload with a bad file, keeps the running configuration, and reports it in /metrics', async () => {
    writeFileSync(configPath, `${goodConfig}scrape_configs:\n  - job_name: a\n    scrape_interval: soon\n`);
    const res = await fetch(`${wk.url}/-/reload`, { method: 'POST', headers: bearer(ADMIN_TOKEN) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errorType: string; error: string };
    expect(body.errorType).toBe('bad_data');
    expect(body.error).toContain(`${configPath}:14: scrape_configs[0].scrape_interval: expected a duration like 15s`);
    expect((await fetch(`${wk.url}/metrics`, { headers: bearer(READ_TOKEN) })).status).toBe(200);
    const text = await (await fetch(`${wk.url}/metrics`, { headers: bearer(READ_TOKEN) })).text();
    expect(text).toMatch(/^watchkeeper_config_last_reload_successful 0$/m);
    expect(text).toMatch(/^watchkeeper_config_reloads_total\{result="failure"\} 1$/m);
  });

  it('needs the admin scope to reload', async () => {
    expect((await fetch(`${wk.url}/-/reload`, { method: 'POST', headers: bearer(READ_TOKEN) })).status).toBe(403);
  });

  it('reloads on SIGHUP: a token removed from the file stops working', async () => {
    writeFileSync(configPath, tokensYaml([{ name: 'reader2', token: 'another-read-token', scopes: ['read'] }]));
    wk.proc.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await fetch(`${wk.url}/metrics`, { headers: bearer(READ_TOKEN) })).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    const text = await (await fetch(`${wk.url}/metrics`, { headers: bearer('another-read-token') })).text();
    expect(text).toMatch(/^watchkeeper_config_last_reload_successful 1$/m);
  });

  it('names the address when the port is already in use', async () => {
    const res = await runCli(['start', '--listen', `127.0.0.1:${wk.port}`, '--data-dir', tempDir('wk-conflict')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`cannot listen on 127.0.0.1:${wk.port} for the HTTP API and UI: the address is already in use`);
  });
});

describe('shutdown', () => {
  it('lets an in-flight request finish while refusing new connections, then exits 0', async () => {
    const wk = await startWatchkeeper();
    const t = Date.now();
    const body = snappyWriteRequest({
      timeseries: [{ labels: [{ name: '__name__', value: 'in_flight_total' }], samples: [{ value: 1, timestamp: t }] }],
    });
    const half = Math.floor(body.length / 2);
    const status = new Promise<number>((ok, fail) => {
      const req = request(
        `${wk.url}/api/v1/write`,
        { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'content-length': body.length } },
        (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        },
      );
      req.on('error', fail);
      req.write(body.subarray(0, half));
      // The request is in flight (headers and half the body sent) when the signal arrives.
      setTimeout(() => {
        wk.proc.kill('SIGTERM');
        setTimeout(async () => {
          await expect(fetch(`${wk.url}/healthz/live`)).rejects.toThrow();
          req.end(body.subarray(half));
        }, 500);
      }, 200);
    });
    expect(await status).toBe(204);
    expect(await wk.exited).toBe(0);
  });

  it('on SIGTERM turns unready, finishes and exits 0', async () => {
    const wk = await startWatchkeeper();
    const code = await wk.stop('SIGTERM');
    expect(code).toBe(0);
    expect(wk.stdout.some((l) => l.includes('"msg":"Watchkeeper stopped"'))).toBe(true);
  });
});

describe('command line', () => {
  it('refuses a non-loopback listener without tokens, and allows it with --insecure', async () => {
    const port = await freePort();
    const refused = await runCli(['start', '--listen', `0.0.0.0:${port}`, '--data-dir', tempDir('wk-exp')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refusing to listen on 0.0.0.0 without access tokens');
    const wk = await startWatchkeeper({ port, args: ['--listen', `0.0.0.0:${port}`, '--insecure'] });
    expect(wk.stdout.some((l) => l.includes('WITHOUT access tokens'))).toBe(true);
    expect(await wk.stop()).toBe(0);
  });

  it('takes the listen address and data directory from the environment', async () => {
    const port = await freePort();
    const wk = await startWatchkeeper({ port, env: { WATCHKEEPER_LISTEN: `127.0.0.1:${port}` } });
    expect(await wk.stop()).toBe(0);
  });

  it('prints its version', async () => {
    const res = await runCli(['--version']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^watchkeeper \d+\.\d+\.\d+\n$/);
  });

  it('check-config exits non-zero with file, line and path of each problem', async () => {
    const dir = tempDir('wk-cc');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  listen: 9700\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 15x\n    colour: red\n');
    const res = await runCli(['check-config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      `${file}:2: server.listen: expected a string, got a number`,
      `${file}:6: scrape_configs[1].scrape_interval: expected a duration like 15s`,
      `${file}:7: scrape_configs[1]: unknown field "colour"`,
    ]);
    writeFileSync(file, 'server:\n  listen: 127.0.0.1:9700\n');
    const ok = await runCli(['check-config', file]);
    expect(ok.code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('token create prints a token and a matching configuration entry', async () => {
    const res = await runCli(['token', 'create', '--name', 'ci', '--scopes', 'ingest,read']);
    expect(res.code).toBe(0);
    const token = /^\s+(wk_\S+)$/m.exec(res.stdout)?.[1];
    expect(token).toBeDefined();
    expect(res.stdout).toContain(`token_sha256: ${sha256Hex(token!)}`);
    expect(res.stdout).toMatch(/scopes:\n\s+- ingest\n\s+- read/);
    const bad = await runCli(['token', 'create', '--name', 'x', '--scopes', 'write']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown scope write (expected ingest, read, admin)');
  });
});
