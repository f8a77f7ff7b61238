import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogsHarness, type LogsHarness } from '../../../test/support/logs-harness.js';

let h: LogsHarness;
const NOW_MS = Date.now();
const T0 = BigInt(NOW_MS - 120_000) * 1_000_000n;

beforeAll(async () => {
  h = await createLogsHarness();
  await h.listen();
  const values = (app: string): [string, string][] => [
    [String(T0), `level=info app=${app} msg="started"`],
    [String(T0 + 1_000_000_000n), `level=error app=${app} msg="failed"`],
    [String(T0 + 61_000_000_000n), `level=info app=${app} msg="recovered"`],
  ];
  const res = await h.app.inject({
    method: 'POST',
    url: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ streams: [{ stream: { app: 'api', env: 'prod' }, values: values('api') }, { stream: { app: 'web', env: 'dev' }, values: values('web') }] }),
  });
  expect(res.statusCode).toBe(204);
});
afterAll(async () => {
  await h.close();
});

const get = async (path: string, params: Record<string, string>) => {
  const res = await h.app.inject({ method: 'GET', url: `${path}?${new URLSearchParams(params)}` });
  return { status: res.statusCode, body: res.json() };
};
const range = { start: String(T0 - 1n), end: String(T0 + 120_000_000_000n) };

describe('Loki query API', () => {
  it('lists labels, label values and series', async () => {
    expect((await get('/loki/api/v1/labels', range)).body).toEqual({ status: 'success', data: ['app', 'env', 'service_name'] });
    expect((await get('/loki/api/v1/label/app/values', range)).body.data).toEqual(['api', 'web']);
    expect((await get('/loki/api/v1/label/app/values', { ...range, query: '{env="dev"}' })).body.data).toEqual(['web']);
    expect((await get('/loki/api/v1/series', { ...range, 'match[]': '{app="api"}' })).body).toEqual({ status: 'success', data: [{ app: 'api', env: 'prod', service_name: 'api' }] });
  });

  it('answers log and metric range queries in Loki shapes', async () => {
    const logs = await get('/loki/api/v1/query_range', { ...range, query: '{app="api"} |= "failed"', direction: 'forward' });
    expect(logs.body.data.resultType).toBe('streams');
    expect(logs.body.data.result[0].values).toEqual([[String(T0 + 1_000_000_000n), 'level=error app=api msg="failed"']]);
    const metric = await get('/loki/api/v1/query_range', { ...range, query: 'sum by (level) (count_over_time({env=~"prod|dev"}[2m]))', step: '60' });
    expect(metric.body.data.resultType).toBe('matrix');
    const error = metric.body.data.result.find((r: { metric: { level: string } }) => r.metric.level === 'error');
    expect(error.values[0]).toEqual([Number(T0 - 1n + 60_000_000_000n) / 1e9, '2']);
    const instant = await get('/loki/api/v1/query', { query: 'count_over_time({app="web"}[5m])', time: String(T0 + 62_000_000_000n) });
    expect(instant.body.data).toEqual({ resultType: 'vector', result: [{ metric: { app: 'web', env: 'dev', service_name: 'web', level: 'info' }, value: [Number(T0 + 62_000_000_000n) / 1e9, '2'] }, { metric: { app: 'web', env: 'dev', service_name: 'web', level: 'error' }, value: [Number(T0 + 62_000_000_000n) / 1e9, '1'] }] });
  });

  it('answers 400 with the reason for unsupported or malformed queries and bad parameters', async () => {
    const unsupported = await get('/loki/api/v1/query_range', { ...range, query: '{app="api"} | pattern "<_>"' });
    expect(unsupported).toEqual({ status: 400, body: { status: 'error', errorType: 'bad_data', error: expect.stringContaining('| pattern is not supported') } });
    expect((await get('/loki/api/v1/query_range', { ...range, query: '{app=' })).status).toBe(400);
    expect((await get('/loki/api/v1/query_range', { query: '{app="api"}', start: 'yesterday' })).body.error).toContain('invalid start');
    expect((await get('/loki/api/v1/query', { query: '{app="api"}' })).body.error).toContain('not supported as an instant query');
    expect((await get('/loki/api/v1/query_range', { ...range, query: '{app="api"}', limit: '0' })).status).toBe(400);
  });

  it('serves volume, a level histogram, and the lines around a line', async () => {
    const volume = await get('/loki/api/v1/index/volume', { ...range, query: '{app=~".+"}' });
    expect(volume.body.data.result.map((r: { metric: Record<string, string> }) => r.metric.app).sort()).toEqual(['api', 'web']);
    const hist = await get('/api/v1/logs/histogram', { ...range, query: '{app="api"}', step: '60' });
    expect(hist.body.data.result.map((r: { metric: Record<string, string> }) => r.metric.level).sort()).toEqual(['error', 'info']);
    const search = await get('/api/v1/logs', { ...range, query: '{app="api"} |= "failed"' });
    const seq = search.body.data.entries[0].seq as string;
    const ctx = await get('/api/v1/logs/context', { seq, before: '5', after: '5' });
    expect(ctx.body.data.before.map((e: { line: string }) => e.line)).toEqual(['level=info app=api msg="started"']);
    expect(ctx.body.data.after.map((e: { line: string }) => e.line)).toEqual(['level=info app=api msg="recovered"']);
    expect((await get('/api/v1/logs/context', { seq: '999999999' })).status).toBe(404);
  });

  it('live tail sends recent lines, then new lines, over a WebSocket', async () => {
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}/loki/api/v1/tail?${new URLSearchParams({ query: '{app="tail"} |= "new"', start: String(T0) })}`);
    const frames: { streams: { stream: Record<string, string>; values: [string, string][] }[] }[] = [];
    const got = (line: string): boolean => frames.some((f) => f.streams.some((s) => s.values.some((v) => v[1] === line)));
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const push = (line: string) =>
      h.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ streams: [{ stream: { app: 'tail' }, values: [[String(BigInt(Date.now()) * 1_000_000n), line]] }] }) });
    // Pushed until seen: the subscription is set up asynchronously after the upgrade.
    for (let i = 0; i < 40 && !got('new line 1'); i++) {
      expect((await push('new line 1')).statusCode).toBe(204);
      await push('ignored line');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(got('new line 1')).toBe(true);
    expect(got('ignored line')).toBe(false);
    ws.close();
    const bad = new WebSocket(`${h.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent('rate({app="x"}[1m])')}`);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => bad.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('tail needs a log query');
  });
});
