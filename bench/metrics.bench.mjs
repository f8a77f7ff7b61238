// remote_write ingest, side by side: the Debian Prometheus (--web.enable-remote-write-receiver)
// and Watchkeeper receive the same load, one after the other on the same machine, and we print
// samples/s, CPU seconds per million samples, peak RSS, RSS per active series and bytes per
// sample on disk after the head is cut into blocks. Options (env): BENCH_SERIES (default 100000),
// BENCH_HOURS of data (default 3.25: past the 3h at which both cut a 2h block), BENCH_INTERVAL_S (60;
// 19.5M samples, about 6 minutes per system on a shared 2-core machine),
// BENCH_WK_NODE_ARGS (extra node flags for Watchkeeper, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
// BENCH_ONLY (prometheus or watchkeeper: run one side, e.g. while profiling).
import { writeFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { WATCHKEEPER_CLI, dirBytes, fmt, freePort, machineLine, procStats, startServer, stopServer, tempDir } from './lib.mjs';

const SERIES = Number(process.env.BENCH_SERIES ?? 100_000);
const HOURS = Number(process.env.BENCH_HOURS ?? 3.25);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_S ?? 60) * 1000;
const SERIES_PER_REQUEST = 5_000;
const CONCURRENCY = 4;

// --- deterministic realistic series -------------------------------------------------------
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const NAMES = [
  ['node_cpu_seconds_total', 'counter'], ['node_network_receive_bytes_total', 'counter'], ['node_network_transmit_bytes_total', 'counter'],
  ['node_disk_read_bytes_total', 'counter'], ['node_disk_written_bytes_total', 'counter'], ['http_requests_total', 'counter'],
  ['http_request_duration_seconds_bucket', 'counter'], ['process_resident_memory_bytes', 'gauge'], ['node_memory_MemAvailable_bytes', 'gauge'],
  ['node_filesystem_avail_bytes', 'gauge'], ['node_load1', 'gauge'], ['go_goroutines', 'gauge'], ['up', 'constant'], ['kube_pod_status_ready', 'constant'],
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const CODES = ['200', '201', '400', '404', '500'];

function encodeString(field, s) {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(b.length), b]);
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

/** Pre-encoded label bytes per series (field 1 entries of TimeSeries) and value behaviour. */
function makeSeries() {
  const r = rng(42);
  const labelBytes = [];
  const kind = new Uint8Array(SERIES);
  for (let i = 0; i < SERIES; i++) {
    const [name, k] = NAMES[i % NAMES.length];
    const host = Math.floor(i / NAMES.length);
    const labels = [
      ['__name__', name],
      ['instance', `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}:9100`],
      ['job', `service-${host % 20}`],
      ['region', ['eu-west-1', 'us-east-1', 'ap-south-1'][host % 3]],
    ];
    if (name.startsWith('http_')) labels.push(['method', METHODS[host % 4]], ['code', CODES[Math.floor(r() * 5)]]);
    labels.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    labelBytes.push(
      Buffer.concat(
        labels.map(([n, v]) => {
          const inner = Buffer.concat([encodeString(1, n), encodeString(2, v)]);
          return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
        }),
      ),
    );
    kind[i] = k === 'counter' ? 0 : k === 'gauge' ? 1 : 2;
  }
  return { labelBytes, kind };
}

/** Remote-write bodies, encoded straight into one buffer per request (the sender must not be the bottleneck). */
function* requests(series, startMs) {
  const rounds = Math.floor((HOURS * 3600_000) / INTERVAL_MS);
  const values = new Float64Array(SERIES);
  const r = rng(7);
  for (let i = 0; i < SERIES; i++) values[i] = series.kind[i] === 2 ? 1 : Math.round(r() * 1e6);
  let maxLabels = 0;
  for (const b of series.labelBytes) maxLabels = Math.max(maxLabels, b.length);
  const buf = Buffer.alloc(SERIES_PER_REQUEST * (maxLabels + 40));
  for (let round = 0; round < rounds; round++) {
    const t = startMs + round * INTERVAL_MS;
    const ts = varint(t);
    // Sample { double value = 1; int64 timestamp = 2; }
    const sampleLen = 1 + 8 + 1 + ts.length;
    for (let lo = 0; lo < SERIES; lo += SERIES_PER_REQUEST) {
      const hi = Math.min(SERIES, lo + SERIES_PER_REQUEST);
      let o = 0;
      for (let i = lo; i < hi; i++) {
        if (series.kind[i] === 0) values[i] += Math.floor(r() * 100);
        else if (series.kind[i] === 1) values[i] = Math.round((values[i] + (r() - 0.5) * 1000) * 100) / 100;
        const labels = series.labelBytes[i];
        const tsLen = labels.length + 2 + sampleLen;
        buf[o++] = 0x0a;
        o = writeVarint(buf, o, tsLen);
        o += labels.copy(buf, o);
        buf[o++] = 0x12;
        buf[o++] = sampleLen;
        buf[o++] = 0x09;
        o = buf.writeDoubleLE(values[i], o);
        buf[o++] = 0x10;
        o += ts.copy(buf, o);
      }
      yield { body: compressSync(buf.subarray(0, o)), samples: hi - lo };
    }
  }
}

function writeVarint(buf, o, n) {
  while (n > 127) {
    buf[o++] = (n & 127) | 128;
    n >>>= 7;
  }
  buf[o++] = n;
  return o;
}

/**
 * Sends with CONCURRENCY workers; request k of a round goes to worker k % CONCURRENCY, so each
 * series' samples arrive in time order (as Prometheus's remote-write shards do).
 */
async function send(url, headers, series, startMs) {
  const it = requests(series, startMs);
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
  const series = makeSeries();
  const before = procStats(proc.pid);
  const senderCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const startMs = Math.floor((Date.now() - HOURS * 3600_000) / INTERVAL_MS) * INTERVAL_MS;
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
