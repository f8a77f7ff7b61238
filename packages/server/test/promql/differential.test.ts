/**
 * Differential check of the PromQL engine against the real Prometheus (Debian's 2.42): the same
 * generated data goes into Prometheus (via `promtool tsdb create-blocks-from openmetrics`) and into
 * a MemoryStorage; a few hundred queries run as instant and range queries on both and must agree
 * within Prometheus's float tolerance. Samples sit 7 ms off every whole second so no sample is ever
 * on a range boundary (2.42 includes the left boundary, 3.x does not), and the queries use only
 * functions 2.42 has.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord, labelsKey, type Labels } from '../../src/model/labels.js';
import { Engine, type QueryResult } from '../../src/promql/index.js';
import { floatsMatch } from '../../src/promql/test-script/runner.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';

const hasBinaries = spawnSync('prometheus', ['--version']).status === 0 && spawnSync('promtool', ['--version']).status === 0;
const skip = !hasBinaries && !process.env.CI;
if (skip) console.warn('differential.test: skipped, the prometheus/promtool binaries are not installed');

/** Data starts here (2023-11-14T22:13:20Z) and runs 2h at a 15 s interval, 7 ms off the second. */
const T0 = 1_700_000_000_000;
const SAMPLES = 480;
const INTERVAL = 15_000;
const JITTER = 7;

interface GenSeries {
  readonly labels: Record<string, string>;
  readonly values: number[];
  /** Index of the first and one past the last sample present. */
  readonly from: number;
  readonly to: number;
}

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(): GenSeries[] {
  const rand = rng(42);
  const out: GenSeries[] = [];
  const jobs = ['api', 'web', 'worker'];
  const instances = ['a:9100', 'b:9100', 'c:9100', 'd:9100'];
  const bounds = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
  let n = 0;
  for (const job of jobs) {
    for (const instance of instances) {
      n++;
      // Some series start late or stop early, exercising lookback and absent().
      const from = n % 5 === 0 ? 100 : 0;
      const to = n % 7 === 0 ? 300 : SAMPLES;
      for (const code of ['200', '404', '500']) {
        const values: number[] = [];
        // Fractional increments keep values distinct, so topk/bottomk never face ties (whose
        // winner Prometheus leaves to its series order).
        let v = 1000 + rand() * 1000;
        for (let i = 0; i < SAMPLES; i++) {
          v += rand() * (code === '200' ? 40 : 5);
          if (code === '500' && rand() < 0.01) v = rand() * 10;
          values.push(Math.round(v * 1000) / 1000);
        }
        out.push({ labels: { __name__: 'http_requests_total', job, instance, code }, values, from, to });
      }
      for (const name of ['node_temp', 'node_load', 'queue_depth']) {
        const values: number[] = [];
        let v = 20 + rand() * 50;
        for (let i = 0; i < SAMPLES; i++) {
          v += (rand() - 0.5) * 4;
          values.push(name === 'queue_depth' ? Math.round(Math.abs(v)) : Math.round(v * 1000) / 1000);
        }
        out.push({ labels: { __name__: name, job, instance }, values, from, to });
      }
      for (const device of ['sda', 'sdb', 'nvme0', 'nvme1']) {
        const values: number[] = [];
        let v = rand() * 1e9;
        for (let i = 0; i < SAMPLES; i++) {
          v += rand() * 1e6;
          values.push(Math.round(v));
        }
        out.push({ labels: { __name__: 'disk_used_bytes', job, instance, device }, values, from, to });
      }
      const counts = new Array<number>(bounds.length).fill(0);
      const bucketValues = bounds.map(() => [] as number[]);
      const sums: number[] = [];
      let sum = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const observations = Math.floor(rand() * 30);
        for (let k = 0; k < observations; k++) {
          const x = -Math.log(1 - rand()) * (job === 'api' ? 0.3 : 1.2);
          sum += x;
          bounds.forEach((b, j) => {
            if (b === '+Inf' || x <= Number(b)) counts[j]!++;
          });
        }
        bounds.forEach((_, j) => bucketValues[j]!.push(counts[j]!));
        sums.push(Math.round(sum * 1000) / 1000);
      }
      bounds.forEach((le, j) => {
        out.push({ labels: { __name__: 'http_request_duration_seconds_bucket', job, instance, le }, values: bucketValues[j]!, from, to });
      });
      out.push({ labels: { __name__: 'http_request_duration_seconds_sum', job, instance }, values: sums, from, to });
      out.push({ labels: { __name__: 'http_request_duration_seconds_count', job, instance }, values: bucketValues[bounds.length - 1]!, from, to });
    }
  }
  return out;
}

function toOpenMetrics(series: GenSeries[]): string {
  const byName = new Map<string, GenSeries[]>();
  for (const s of series) {
    const name = s.labels.__name__!;
    byName.set(name, [...(byName.get(name) ?? []), s]);
  }
  const lines: string[] = [];
  for (const [name, list] of byName) {
    for (const s of list) {
      const labels = Object.entries(s.labels)
        .filter(([k]) => k !== '__name__')
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      for (let i = s.from; i < s.to; i++) lines.push(`${name}{${labels}} ${s.values[i]} ${((T0 + i * INTERVAL + JITTER) / 1000).toFixed(3)}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

const SELECTORS = ['http_requests_total', 'http_requests_total{code="200"}', 'http_requests_total{job=~"api|web",code!="404"}'];
const GAUGES = ['node_temp', 'node_load{job="api"}', 'queue_depth', 'disk_used_bytes{device=~"sd.*"}'];

function queries(tEnd: number): string[] {
  const q: string[] = [];
  for (const s of SELECTORS) {
    for (const r of ['1m', '5m', '17m']) {
      for (const f of ['rate', 'irate', 'increase', 'resets', 'changes']) q.push(`${f}(${s}[${r}])`);
    }
    q.push(`sum by (job) (rate(${s}[5m]))`, `sum without (instance) (rate(${s}[5m]))`, `topk(3, rate(${s}[5m]))`, `bottomk(2, ${s})`);
  }
  for (const g of GAUGES) {
    for (const f of ['delta', 'idelta', 'deriv', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'present_over_time']) {
      q.push(`${f}(${g}[10m])`);
    }
    q.push(`quantile_over_time(0.3, ${g}[10m])`, `predict_linear(${g}[10m], 600)`);
    for (const a of ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group']) q.push(`${a}(${g})`, `${a} by (job) (${g})`, `${a} without (instance) (${g})`);
    q.push(`quantile by (job) (0.9, ${g})`, `count_values("v", round(${g}))`, `topk by (job) (1, ${g})`);
    for (const f of ['abs', 'ceil', 'floor', 'sqrt', 'ln', 'log2', 'log10', 'exp', 'sgn', 'timestamp', 'sin', 'atan', 'deg']) q.push(`${f}(${g} / 100)`);
    q.push(`round(${g}, 0.5)`, `clamp(${g}, 30, 50)`, `clamp_min(${g}, 40)`, `clamp_max(${g}, 40)`, `${g} offset 7m`, `${g} offset -3m`, `-${g}`);
  }
  q.push(
    'node_temp > 40',
    'node_temp > bool 40',
    '40 < node_temp',
    'node_temp - node_load',
    'node_temp / on(job, instance) group_left sum by (job, instance) (queue_depth)',
    'http_requests_total / on(job, instance) group_left sum by (job, instance) (http_requests_total)',
    'sum by (job, instance) (http_requests_total) / on(job, instance) group_right http_requests_total',
    'node_temp * ignoring(instance) group_left avg by (job) (node_temp)',
    'node_temp and node_load > 40',
    'node_temp or queue_depth',
    'node_temp unless on(job) queue_depth > 60',
    'node_temp + on(instance) group_left(job) node_load',
    'node_temp{instance="a:9100"} % 7 ^ 2',
    '2 ^ node_temp{instance="a:9100"} / 1e10',
    '(1 + 2) * 3 - 4 / 5',
    'scalar(sum(node_temp)) * node_load',
    'vector(1) + sum(queue_depth)',
    'time() - timestamp(node_temp)',
    'hour(timestamp(node_temp))',
    'minute()',
    'day_of_week(vector(time()))',
    'absent(nonexistent{job="x"})',
    'absent(node_temp)',
    'absent_over_time(nonexistent[5m])',
    'label_replace(node_temp, "host", "$1", "instance", "([^:]+):.*")',
    'label_join(node_temp, "id", "/", "job", "instance")',
    'sort_desc(sum by (job) (node_temp))',
    'histogram_quantile(0.5, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))',
    'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))',
    'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))',
    'histogram_quantile(0.75, http_request_duration_seconds_bucket)',
    'rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])',
    'max_over_time(rate(http_requests_total[1m])[10m:1m])',
    'avg_over_time(node_temp[15m:])',
    'sum_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:2m])',
    'min_over_time(node_temp[20m:45s] offset 5m)',
    'deriv(avg by (job) (node_load)[10m:30s])',
    `rate(http_requests_total[5m] @ ${(tEnd / 1000).toFixed(3)})`,
    'node_temp @ end()',
    'sum(node_load @ start())',
    'rate(http_requests_total[5m] offset 10m)',
    'increase(http_requests_total{code="500"}[30m] offset -10m)',
    'count(count by (job) (node_temp))',
    'sum(rate(http_requests_total[5m])) by (code) / ignoring(code) group_left sum(rate(http_requests_total[5m]))',
  );
  return q;
}

interface Flat {
  kind: string;
  series: Map<string, { labels: Labels; points: [number, number][] }>;
}

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function flattenPrometheus(data: { resultType: string; result: unknown }): Flat {
  const series = new Map<string, { labels: Labels; points: [number, number][] }>();
  if (data.resultType === 'scalar') {
    const [t, v] = data.result as [number, string];
    series.set('', { labels: [], points: [[Math.round(t * 1000), parseValue(v)]] });
  } else {
    for (const s of data.result as { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[]) {
      const labels = labelsFromRecord(s.metric);
      const pts = (s.values ?? [s.value!]).map(([t, v]) => [Math.round(t * 1000), parseValue(v)] as [number, number]);
      series.set(labelsKey(labels), { labels, points: pts });
    }
  }
  return { kind: data.resultType, series };
}

function flattenOurs(r: QueryResult): Flat {
  const series = new Map<string, { labels: Labels; points: [number, number][] }>();
  if (r.resultType === 'scalar') series.set('', { labels: [], points: [[r.result.t, r.result.v]] });
  else if (r.resultType === 'vector') for (const s of r.result) series.set(labelsKey(s.metric), { labels: s.metric, points: [[s.t, s.v]] });
  else if (r.resultType === 'matrix') {
    for (const s of r.result) series.set(labelsKey(s.metric), { labels: s.metric, points: Array.from(s.timestamps, (t, i) => [t, s.values[i]!] as [number, number]) });
  }
  return { kind: r.resultType, series };
}

function difference(want: Flat, got: Flat): string | null {
  if (want.kind !== got.kind) return `result type ${got.kind}, Prometheus ${want.kind}`;
  for (const [key, w] of want.series) {
    const g = got.series.get(key);
    if (!g) return `missing series ${JSON.stringify(w.labels)}`;
    if (g.points.length !== w.points.length) return `series ${JSON.stringify(w.labels)}: ${g.points.length} points, Prometheus ${w.points.length}`;
    for (let i = 0; i < w.points.length; i++) {
      const [wt, wv] = w.points[i]!;
      const [gt, gv] = g.points[i]!;
      if (wt !== gt || !floatsMatch(gv, wv)) return `series ${JSON.stringify(w.labels)} point ${i}: got ${gv}@${gt}, Prometheus ${wv}@${wt}`;
    }
  }
  for (const [key, g] of got.series) if (!want.series.has(key)) return `extra series ${JSON.stringify(g.labels)}`;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe.skipIf(skip)('differential: Watchkeeper PromQL vs Prometheus 2.42', () => {
  let dir = '';
  let proc: ChildProcess | null = null;
  let base = '';
  const storage = new MemoryStorage();
  const engine = new Engine();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wk-promql-diff-'));
    const data = generate();
    writeFileSync(join(dir, 'data.om'), toOpenMetrics(data));
    const created = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'data.om'), join(dir, 'tsdb')], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`promtool failed: ${created.stderr}`);
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=100y',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error('prometheus did not become ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const app = storage.appender();
    for (const s of data) {
      const labels = labelsFromRecord(s.labels);
      let ref = 0;
      for (let i = s.from; i < s.to; i++) ref = app.append(ref, labels, T0 + i * INTERVAL + JITTER, s.values[i]!);
    }
    await app.commit();
  }, 60_000);

  afterAll(() => {
    proc?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function compare(path: string, params: Record<string, string>, ours: () => Promise<QueryResult>): Promise<string | null> {
    const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: { resultType: string; result: unknown }; error?: string };
    let mine: QueryResult;
    try {
      mine = await ours();
    } catch (err) {
      return body.status === 'success' ? `failed: ${(err as Error).message}` : null;
    }
    if (body.status !== 'success') return `succeeded, Prometheus failed: ${body.error}`;
    return difference(flattenPrometheus(body.data), flattenOurs(mine));
  }

  // Evaluation times are half a second off the data's grid: no window edge meets a sample or a subquery step.
  const start = T0 + 30 * 60_000 + 500;
  const end = T0 + 110 * 60_000 + 500;
  const all = queries(end);

  it(`agrees on ${all.length} queries as instant and range queries`, async () => {
    const problems: string[] = [];
    let compared = 0;
    for (const q of all) {
      for (const t of [start, T0 + 75 * 60_000 + 500, end]) {
        const p = await compare('/api/v1/query', { query: q, time: (t / 1000).toFixed(3) }, () => engine.instantQuery(storage, q, t));
        compared++;
        if (p) problems.push(`instant ${q} @ ${t}: ${p}`);
      }
      for (const step of [60_000, 37_000]) {
        const p = await compare(
          '/api/v1/query_range',
          { query: q, start: (start / 1000).toFixed(3), end: (end / 1000).toFixed(3), step: String(step / 1000) },
          () => engine.rangeQuery(storage, q, start, end, step),
        );
        compared++;
        if (p) problems.push(`range ${q} step ${step}: ${p}`);
      }
    }
    expect(compared).toBe(all.length * 5);
    expect(problems).toEqual([]);
  }, 120_000);
});
