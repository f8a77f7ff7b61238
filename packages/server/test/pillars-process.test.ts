/**
 * The pillars as `watchkeeper start` wires them: remote_write into the TSDB and PromQL over it,
 * persistence of acknowledged samples across a SIGKILL, alerts through the Alertmanager API to a
 * webhook, and an invalid alerting section refused at start, reload and check-config alike.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpSink, type HttpSink } from './support/notification-sinks.js';
import { snappyWriteRequest } from './support/remote-write-proto.js';
import { runCli, startWatchkeeper, tempDir, type RunningProcess } from './support/watchkeeper-process.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function instant(url: string, query: string, timeSeconds?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const params = new URLSearchParams({ query });
  if (timeSeconds !== undefined) params.set('time', String(timeSeconds));
  const res = await fetch(`${url}/api/v1/query?${params}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

describe('pillars wired into watchkeeper start', () => {
  const dir = tempDir('wk-pillars');
  const dataDir = join(dir, 'data');
  const configPath = join(dir, 'watchkeeper.yaml');
  let sink: HttpSink;
  let wk: RunningProcess;

  beforeAll(async () => {
    sink = await startHttpSink();
    writeFileSync(
      join(dir, 'rules.yml'),
      'groups:\n  - name: always\n    interval: 1s\n    rules:\n      - alert: AlwaysOn\n        expr: vector(1) > 0\n        labels: { severity: info }\n        annotations: { summary: "value is {{ $value }}" }\n',
    );
    writeFileSync(
      configPath,
      [
        'self_scrape:',
        '  interval: 1s',
        'server:',
        '  otlp_http: { enabled: false }',
        '  otlp_grpc: { enabled: false }',
        'rule_files: [rules.yml]',
        'projects:',
        '  - id: 7',
        '    name: shop',
        '    keys: [0123456789abcdef0123456789abcdef]',
        'alerting:',
        '  route:',
        '    receiver: hook',
        '    group_by: [alertname]',
        '    group_wait: 0s',
        '  receivers:',
        '    - name: hook',
        '      webhook_configs:',
        `        - url: ${sink.url}/hook`,
        '',
      ].join('\n'),
    );
    wk = await startWatchkeeper({ args: ['--config', configPath], dataDir });
  });

  afterAll(async () => {
    await wk?.stop('SIGKILL');
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const now = Math.floor(Date.now() / 1000) * 1000;

  it('stores remote_write samples durably and answers PromQL over them, across a SIGKILL', async () => {
    const body = snappyWriteRequest({
      timeseries: [1, 2, 3].map((i) => ({
        labels: [
          { name: '__name__', value: 'bench_requests_total' },
          { name: 'instance', value: `host-${i}` },
          { name: 'job', value: 'api' },
        ],
        samples: [
          { value: 10 * i, timestamp: now - 60_000 },
          { value: 10 * i + 6, timestamp: now - 30_000 },
        ],
      })),
    });
    const res = await fetch(`${wk.url}/api/v1/write`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
    });
    expect(res.status).toBe(204);
    const check = async (url: string) => {
      const sum = await instant(url, 'sum(bench_requests_total)', now / 1000);
      expect(sum).toEqual([{ metric: {}, value: [now / 1000, '78'] }]);
      const rate = await instant(url, 'sum by (job) (rate(bench_requests_total[2m]))', now / 1000);
      expect(rate[0]?.metric).toEqual({ job: 'api' });
      expect(Number(rate[0]?.value[1])).toBeGreaterThan(0);
    };
    await check(wk.url);

    // Acknowledged means in the WAL: a SIGKILL right after loses nothing.
    await wk.stop('SIGKILL');
    wk = await startWatchkeeper({ args: ['--config', configPath], dataDir });
    await check(wk.url);
  });

  it('scrapes itself', async () => {
    const up = await waitFor('self-scrape', async () => {
      const r = await instant(wk.url, 'up{job="watchkeeper"}');
      return r.length > 0 ? r : undefined;
    });
    expect(up[0]?.value[1]).toBe('1');
  });

  it('routes alerts posted to the Alertmanager API to the configured webhook', async () => {
    const res = await fetch(`${wk.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'DiskFull', severity: 'critical' }, annotations: { summary: 'disk is full' } }]),
    });
    expect(res.status).toBe(200);
    const delivered = await waitFor('webhook delivery', async () => sink.received.find((r) => JSON.stringify(r.body).includes('DiskFull')));
    expect(delivered.body).toMatchObject({ version: '4', status: 'firing', receiver: 'hook', groupLabels: { alertname: 'DiskFull' } });
  });

  it('groups an error event into an issue and raises a NewErrorIssue alert', async () => {
    const res = await fetch(`${wk.url}/api/7/store/?sentry_key=0123456789abcdef0123456789abcdef`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        event_id: 'a'.repeat(32),
        platform: 'node',
        level: 'error',
        release: 'shop@1.2.3',
        exception: { values: [{ type: 'TypeError', value: 'cart is undefined', stacktrace: { frames: [{ filename: 'cart.js', function: 'checkout', lineno: 12, in_app: true }] } }] },
      }),
    });
    expect(res.status).toBe(200);
    const issues = await waitFor('the issue', async () => {
      const body = (await (await fetch(`${wk.url}/api/v1/issues`)).json()) as { data: { issues: { title: string }[] } };
      return body.data.issues.length > 0 ? body.data.issues : undefined;
    });
    expect(issues[0]?.title).toContain('TypeError');
    const alert = await waitFor('the issue alert', async () =>
      sink.received.find((r) => JSON.stringify(r.body).includes('NewErrorIssue')),
    );
    expect(alert.body).toMatchObject({ commonLabels: { alertname: 'NewErrorIssue', project: 'shop', release: 'shop@1.2.3' } });
  });

  it('stores JSON-lines logs and OTLP spans, found through the Loki and Tempo APIs', async () => {
    const logRes = await fetch(`${wk.url}/api/v1/logs?service=checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ time: Date.now(), level: 50, msg: 'payment declined', request_id: 'req-77' })}\n`,
    });
    expect(logRes.status).toBe(204);
    const streams = await waitFor('the log line', async () => {
      const q = new URLSearchParams({ query: '{service_name="checkout"} |= "declined"' });
      const body = (await (await fetch(`${wk.url}/loki/api/v1/query_range?${q}`)).json()) as { data: { result: { values: [string, string][] }[] } };
      return body.data.result.length > 0 ? body.data.result : undefined;
    });
    expect(streams[0]?.values[0]?.[1]).toBe('payment declined');

    const traceId = '5b8efff798038103d269b633813fc60c';
    const startNs = BigInt(Date.now()) * 1_000_000n;
    const traceRes = await fetch(`${wk.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
            scopeSpans: [{ spans: [{ traceId, spanId: 'eee19b7ec3c1b174', name: 'POST /pay', kind: 2, startTimeUnixNano: String(startNs), endTimeUnixNano: String(startNs + 5_000_000n) }] }],
          },
        ],
      }),
    });
    expect(traceRes.status).toBe(200);
    const trace = await waitFor('the trace', async () => {
      const r = await fetch(`${wk.url}/api/traces/${traceId}`);
      return r.status === 200 ? ((await r.json()) as { batches: { scopeSpans: { spans: { name: string }[] }[] }[] }) : undefined;
    });
    expect(trace.batches[0]?.scopeSpans[0]?.spans[0]?.name).toBe('POST /pay');
  });

  it('evaluates rule files and sends firing alerts through the routing to the webhook', async () => {
    const delivered = await waitFor('the rule alert', async () => sink.received.find((r) => JSON.stringify(r.body).includes('AlwaysOn')));
    expect(delivered.body).toMatchObject({ commonLabels: { alertname: 'AlwaysOn', severity: 'info' }, commonAnnotations: { summary: 'value is 1' } });
    // The process restarted earlier in this file: its rules fire again after their first evaluation.
    const firing = await waitFor('the firing rule alert', async () => {
      const body = (await (await fetch(`${wk.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return body.data.alerts.find((a) => a.labels.alertname === 'AlwaysOn' && a.state === 'firing');
    });
    expect(firing).toMatchObject({ labels: { alertname: 'AlwaysOn', severity: 'info' }, state: 'firing' });
    const series = await waitFor('the ALERTS series', async () => {
      const r = await instant(wk.url, 'ALERTS{alertname="AlwaysOn"}');
      return r.length > 0 ? r : undefined;
    });
    expect(series[0]?.metric.alertstate).toBe('firing');
  });

  it('refuses a rule file with bad PromQL on reload', async () => {
    writeFileSync(join(dir, 'rules.yml'), 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n');
    const res = await fetch(`${wk.url}/-/reload`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/rules\.yml.*group "broken", rule 1, "Broken"/);
  });

  it('refuses an invalid alerting section on reload, keeping the running one', async () => {
    writeFileSync(configPath, 'alerting:\n  route:\n    receiver: nobody\n  receivers: []\n');
    const res = await fetch(`${wk.url}/-/reload`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('undefined receiver "nobody" used in route');
    const cc = await runCli(['check-config', configPath]);
    expect(cc.code).toBe(1);
    expect(cc.stderr).toContain('undefined receiver "nobody" used in route');
    const start = await runCli(['start', '--config', configPath, '--data-dir', join(dir, 'other'), '--listen', '127.0.0.1:0']);
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('undefined receiver "nobody" used in route');
  });
});
