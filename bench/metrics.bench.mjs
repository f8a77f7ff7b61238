// remote_write ingest, side by side: the Debian Prometheus (--web.enable-remote-write-receiver)
// and Watchkeeper receive the same load, one after the other on the same machine, and we print
// samples/s, CPU seconds per million samples, peak RSS, RSS per active series and bytes per
// sample on disk after the head is cut into blocks. The load (bench/metrics-load.mjs) models a
// node_exporter and an instrumented HTTP service per host. Options (env): BENCH_SERIES (default 100000),
// BENCH_HOURS of data (default 3.25: past the 3h at which both cut a 2h block), BENCH_INTERVAL_S (60;
// 19.5M samples, about 6 minutes per system on a shared 2-core machine),
// BENCH_WK_NODE_ARGS (extra node flags for Watchkeeper, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
// BENCH_ONLY (prometheus or watchkeeper: run one side, e.g. while profiling).
import { writeFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeSeries, requests } from './metrics-load.mjs';
import { WATCHKEEPER_CLI, dirBytes, fmt, freePort, machineLine, procStats, startServer, stopServer, tempDir } from './lib.mjs';

const SERIES = Number(process.env.BENCH_SERIES ?? 100_000);
const HOURS = Number(process.env.BENCH_HOURS ?? 3.25);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_S ?? 60) * 1000;
const SERIES_PER_REQUEST = 5_000;
const CONCURRENCY = 4;

/**
 * Sends with CONCURRENCY workers; request k of a round goes to worker k % CONCURRENCY, so each
 * series' samples arrive in time order (as Prometheus's remote-write shards do).
 */
async function send(url, headers, series, startMs) {
  const it = requests(series, { startMs, intervalMs: INTERVAL_MS, count: Math.floor((HOURS * 3600_000) / INTERVAL_MS) }, SERIES_PER_REQUEST);
  const queues = Array.from({ length: CONCURRENCY }, () => []);
  let produced = 0;
  let exhausted = false;
  const nextFor = (w) => {
    while (queues[w].length === 0 && !exhausted) {
      const next = it.next();
      if (next.done) exhausted = true;
      else queues[(produced++ % Math.ceil(SERIES / SERIES_PER_REQUEST)) % CONCURRENCY].push(next.value);
    }
    return queues[w].shift();
  };
  let samples = 0;
  let failures = 0;
  let firstFailure = '';
  const worker = async (w) => {
    for (let req = nextFor(w); req; req = nextFor(w)) {
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(url, {
          method: 'POST',
          body: req.body,
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', ...headers },
        });
        const text = await res.text();
        if (res.status < 300) {
          samples += req.samples;
          break;
        }
        if (res.status < 500 && res.status !== 429) {
          failures++;
          firstFailure ||= `${res.status} ${text.slice(0, 200)}`;
          break;
        }
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  return { samples, failures, firstFailure };
}

function blockStats(dir, blocksDir) {
  let samples = 0;
  let bytes = 0;
  let blocks = 0;
  let entries = [];
  try {
    entries = readdirSync(blocksDir, { withFileTypes: true });
  } catch {}
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const metaPath = join(blocksDir, e.name, 'meta.json');
    let meta;
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8'));
    } catch {
      continue;
    }
    blocks++;
    samples += Number(meta.stats?.numSamples ?? 0);
    bytes += dirBytes(join(blocksDir, e.name));
  }
  return { samples, bytes, blocks };
}

async function waitForBlocks(dir, blocksDir, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (blockStats(dir, blocksDir).blocks > 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function run(system, start) {
  const { proc, writeUrl, blocksDir, dir, seriesUrl } = await start();
  const series = makeSeries(SERIES);
  const before = procStats(proc.pid);
  const senderCpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Start on a 2h boundary, so the first block both cut is a whole one (120 samples a series at 60 s).
  const startMs = Math.floor((Date.now() - HOURS * 3600_000) / 7200_000) * 7200_000;
  const { samples, failures, firstFailure } = await send(writeUrl, {}, series, startMs);
  const seconds = (performance.now() - t0) / 1000;
  const senderCpu = process.cpuUsage(senderCpu0);
  const after = procStats(proc.pid);
  // Both cut the head into a block once it spans 1.5 block ranges; Prometheus checks once a minute.
  if (HOURS >= 3) await waitForBlocks(dir, blocksDir, 150_000);
  const disk = blockStats(dir, blocksDir);
  const headSeries = await seriesUrl().catch(() => NaN);
  await stopServer(proc);
  rmSync(dir, { recursive: true, force: true });
  return {
    system,
    samples,
    failures,
    firstFailure,
    seconds,
    senderCpuSeconds: (senderCpu.user + senderCpu.system) / 1e6,
    samplesPerSecond: samples / seconds,
    cpuPerMillion: ((after.cpuSeconds - before.cpuSeconds) / samples) * 1e6,
    peakRss: after.peakRssBytes,
    rssPerSeries: after.rssBytes / SERIES,
    rssGrowthPerSeries: (after.rssBytes - before.rssBytes) / SERIES,
    headSeries,
    bytesPerSample: disk.samples > 0 ? disk.bytes / disk.samples : NaN,
    blocks: disk.blocks,
  };
}

async function startPrometheus() {
  const dir = tempDir('bench-prom');
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\n');
  const proc = await startServer(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=30d'],
    `http://127.0.0.1:${port}/-/ready`,
  );
  const base = `http://127.0.0.1:${port}`;
  return {
    proc,
    dir,
    blocksDir: join(dir, 'data'),
    writeUrl: `${base}/api/v1/write`,
    seriesUrl: async () => (await (await fetch(`${base}/api/v1/status/tsdb`)).json()).data.headStats.numSeries,
  };
}

async function startWatchkeeper() {
  const dir = tempDir('bench-wk');
  const port = await freePort();
  const config = join(dir, 'watchkeeper.yaml');
  writeFileSync(config, 'self_scrape:\n  enabled: false\nserver:\n  otlp_http: { enabled: false }\n  otlp_grpc: { enabled: false }\nlog:\n  level: warn\n');
  const nodeArgs = (process.env.BENCH_WK_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = await startServer(process.execPath, [...nodeArgs, WATCHKEEPER_CLI, 'start', '--config', config, '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`], `http://127.0.0.1:${port}/healthz/ready`);
  const base = `http://127.0.0.1:${port}`;
  return {
    proc,
    dir,
    blocksDir: join(dir, 'data', 'tsdb'),
    writeUrl: `${base}/api/v1/write`,
    seriesUrl: async () => (await (await fetch(`${base}/api/v1/status/tsdb`)).json()).data.headStats.numSeries,
  };
}

console.log(`remote_write ingest: ${fmt(SERIES)} series, ${HOURS}h of samples every ${INTERVAL_MS / 1000}s, ${SERIES_PER_REQUEST} series/request, ${CONCURRENCY} senders`);
console.log(`machine: ${machineLine()}`);
const only = process.env.BENCH_ONLY;
const skipped = (system) => ({ system, failures: 0 });
const prom = only && only !== 'prometheus' ? skipped('prometheus') : await run('prometheus', startPrometheus);
const wk = only && only !== 'watchkeeper' ? skipped('watchkeeper') : await run('watchkeeper', startWatchkeeper);
const rows = [
  ['samples accepted', (r) => fmt(r.samples, 0)],
  ['ingest seconds', (r) => fmt(r.seconds, 1)],
  ['sender CPU s', (r) => fmt(r.senderCpuSeconds, 1)],
  ['samples/s', (r) => fmt(r.samplesPerSecond, 0)],
  ['CPU s per 1M samples', (r) => fmt(r.cpuPerMillion, 3)],
  ['peak RSS MiB', (r) => fmt(r.peakRss / 2 ** 20, 1)],
  ['RSS bytes per series', (r) => fmt(r.rssPerSeries, 0)],
  ['RSS growth per series', (r) => fmt(r.rssGrowthPerSeries, 0)],
  ['head series', (r) => fmt(r.headSeries, 0)],
  ['blocks', (r) => String(r.blocks)],
  ['bytes/sample on disk', (r) => fmt(r.bytesPerSample, 3)],
];
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? fmt(a / b, 2) : 'n/a');
console.log(`\n${'metric'.padEnd(24)}${'prometheus'.padStart(16)}${'watchkeeper'.padStart(16)}${'wk/prom'.padStart(10)}`);
const ratios = [null, null, null, [prom.samplesPerSecond, wk.samplesPerSecond], [prom.cpuPerMillion, wk.cpuPerMillion], [prom.peakRss, wk.peakRss], [prom.rssPerSeries, wk.rssPerSeries], [prom.rssGrowthPerSeries, wk.rssGrowthPerSeries], null, null, [prom.bytesPerSample, wk.bytesPerSample]];
rows.forEach(([label, f], i) => {
  const rr = ratios[i];
  console.log(`${label.padEnd(24)}${f(prom).padStart(16)}${f(wk).padStart(16)}${(rr ? ratio(rr[1], rr[0]) : '').padStart(10)}`);
});
for (const r of [prom, wk]) if (r.failures) console.log(`${r.system} rejected ${r.failures} requests, first: ${r.firstFailure}`);
