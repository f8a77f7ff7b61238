// PromQL query latency, side by side: the same data is pushed by remote_write into the Debian
// Prometheus and into Watchkeeper, then a dashboard-like query set (rate, sum by, histogram_quantile
// over rate of buckets, topk, a subquery, a regex matcher) runs as range queries over 1h, 6h and
// 24h on both; we print median and p95 latency per query and range, and the ratio.
// Options (env): BENCH_SERIES (default 10000), BENCH_HOURS of data (24), BENCH_INTERVAL_S (60),
// BENCH_REPEAT runs per query (7).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { WATCHKEEPER_CLI, fmt, freePort, machineLine, startServer, stopServer, tempDir } from './lib.mjs';

const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_S ?? 60) * 1000;
const REPEAT = Number(process.env.BENCH_REPEAT ?? 7);
const SERIES_PER_REQUEST = 2_000;
const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function field(tag, payload) {
  return Buffer.concat([Buffer.from([tag]), varint(payload.length), payload]);
}

/** Series: a third counters, a third gauges, a third classic-histogram buckets. */
function makeSeries() {
  const out = [];
  for (let i = 0; out.length < SERIES; i++) {
    const host = `host-${i}`;
    const job = `service-${i % 25}`;
    out.push({ labels: { __name__: 'http_requests_total', code: ['200', '404', '500'][i % 3], instance: host, job }, kind: 'counter' });
    out.push({ labels: { __name__: 'node_load1', instance: host, job }, kind: 'gauge' });
    for (const le of BUCKETS) out.push({ labels: { __name__: 'http_request_duration_seconds_bucket', instance: host, job, le }, kind: 'bucket', le });
  }
  out.length = SERIES;
  return out.map((s) => {
    const names = Object.keys(s.labels).sort();
    const bytes = Buffer.concat(names.map((n) => field(0x0a, Buffer.concat([field(0x0a, Buffer.from(n)), field(0x12, Buffer.from(s.labels[n]))]))));
    return { ...s, bytes };
  });
}

function* requests(series, startMs) {
  const rounds = Math.floor((HOURS * 3600_000) / INTERVAL_MS);
  const r = rng(11);
  const values = series.map((s) => (s.kind === 'bucket' ? 0 : Math.round(r() * 1000)));
  const sample = Buffer.alloc(32);
  for (let round = 0; round < rounds; round++) {
    const t = startMs + round * INTERVAL_MS;
    const observed = r() * 50;
    for (let lo = 0; lo < series.length; lo += SERIES_PER_REQUEST) {
      const parts = [];
      const hi = Math.min(series.length, lo + SERIES_PER_REQUEST);
      for (let i = lo; i < hi; i++) {
        const s = series[i];
        if (s.kind === 'counter') values[i] += Math.floor(r() * 100);
        else if (s.kind === 'gauge') values[i] = Math.round(r() * 800) / 100;
        else values[i] += Math.floor(observed * Math.min(1, (s.le === '+Inf' ? 10 : Number(s.le)) / 2));
        let o = 0;
        sample[o++] = 0x09;
        sample.writeDoubleLE(values[i], o);
        o += 8;
        sample[o++] = 0x10;
        const ts = varint(t);
        ts.copy(sample, o);
        o += ts.length;
        parts.push(field(0x0a, Buffer.concat([s.bytes, field(0x12, Buffer.from(sample.subarray(0, o)))])));
      }
      yield compressSync(Buffer.concat(parts));
    }
  }
}

async function push(writeUrl, series, startMs) {
  const it = requests(series, startMs);
  const worker = async () => {
    for (let next = it.next(); !next.done; next = it.next()) {
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(writeUrl, {
          method: 'POST',
          body: next.value,
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
        });
        await res.arrayBuffer();
        if (res.status < 300 || (res.status < 500 && res.status !== 429)) break;
        await new Promise((ok) => setTimeout(ok, 100 * (attempt + 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

const QUERIES = [
  ['rate', 'rate(http_requests_total{job="service-3"}[5m])'],
  ['sum by', 'sum by (job) (rate(http_requests_total[5m]))'],
  ['histogram_quantile', 'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))'],
  ['topk', 'topk(5, rate(http_requests_total[5m]))'],
  ['subquery', 'max_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:1m])'],
  ['regex matcher', 'avg by (job) (node_load1{instance=~"host-1.*"})'],
];

async function latencies(base, endMs) {
  const out = new Map();
  for (const hours of [1, 6, 24].filter((h) => h <= HOURS)) {
    const step = Math.max(15, Math.round((hours * 3600) / 250));
    for (const [name, query] of QUERIES) {
      const times = [];
      for (let i = 0; i < REPEAT; i++) {
        const params = new URLSearchParams({ query, start: String((endMs - hours * 3600_000) / 1000), end: String(endMs / 1000), step: String(step) });
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/query_range`, { method: 'POST', body: params, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        const body = await res.json();
        if (body.status !== 'success') throw new Error(`${name} failed on ${base}: ${body.error}`);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      out.set(`${name} ${hours}h`, { median: times[Math.floor(times.length / 2)], p95: times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)] });
    }
  }
  return out;
}

async function startPrometheus() {
  const dir = tempDir('bench-promql-prom');
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\n');
  const proc = await startServer(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=30d'],
    `http://127.0.0.1:${port}/-/ready`,
  );
  return { proc, dir, base: `http://127.0.0.1:${port}` };
}

async function startWatchkeeper() {
  const dir = tempDir('bench-promql-wk');
  const port = await freePort();
  const config = join(dir, 'watchkeeper.yaml');
  writeFileSync(config, 'self_scrape:\n  enabled: false\nserver:\n  otlp_http: { enabled: false }\n  otlp_grpc: { enabled: false }\nlog:\n  level: warn\n');
  const proc = await startServer(process.execPath, [WATCHKEEPER_CLI, 'start', '--config', config, '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`], `http://127.0.0.1:${port}/healthz/ready`);
  return { proc, dir, base: `http://127.0.0.1:${port}` };
}

async function run(start, series, startMs, endMs) {
  const { proc, dir, base } = await start();
  try {
    await push(`${base}/api/v1/write`, series, startMs);
    return await latencies(base, endMs);
  } finally {
    await stopServer(proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`PromQL range queries: ${fmt(SERIES)} series, ${HOURS}h of samples every ${INTERVAL_MS / 1000}s, ${REPEAT} runs per query`);
console.log(`machine: ${machineLine()}`);
const series = makeSeries();
const startMs = Math.floor((Date.now() - HOURS * 3600_000) / INTERVAL_MS) * INTERVAL_MS;
const endMs = startMs + Math.floor((HOURS * 3600_000) / INTERVAL_MS) * INTERVAL_MS - INTERVAL_MS;
const prom = await run(startPrometheus, series, startMs, endMs);
const wk = await run(startWatchkeeper, series, startMs, endMs);
console.log(`\n${'query'.padEnd(26)}${'prom median'.padStart(12)}${'prom p95'.padStart(10)}${'wk median'.padStart(11)}${'wk p95'.padStart(10)}${'wk/prom'.padStart(9)}  (ms)`);
for (const [key, p] of prom) {
  const w = wk.get(key);
  console.log(`${key.padEnd(26)}${fmt(p.median, 1).padStart(12)}${fmt(p.p95, 1).padStart(10)}${fmt(w.median, 1).padStart(11)}${fmt(w.p95, 1).padStart(10)}${fmt(w.median / p.median, 2).padStart(9)}`);
}
