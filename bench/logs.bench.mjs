// Log ingest and query, with `grep -c` over the same data as raw JSON lines as the floor of a scan.
// First generates realistic pino-style JSON lines (several services and levels, JSON fields, a
// unique request id per line, spread over 24 h) into a file; then ingests that file in-process
// (packages/server/dist: run `npm run build` first) the way `POST /api/v1/logs` does, without the
// HTTP layer: bodies of whole lines (~5,000 lines, 1.6 MB) go to the route's decoder pool
// (JSON lines decoded to columns in worker threads), and the event loop appends the decoded
// columns to the embedded signal store (LogStore.appendColumns: acknowledged once the group
// commit is durable), several bodies in flight as concurrent requests would be. BENCH_THREADS sets
// the decoder threads (default as the route's). Prints lines/s and MB/s ingested, CPU per line, the event loop's busy share,
// bytes stored per line, and the latency of a request-id lookup, a substring search over all
// lines and a count_over_time by level over 24 h, next to `grep -c` over the raw file. Options
// (env): BENCH_LINES (default 10,000,000); BENCH_KEEP=1 keeps the generated file and database.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { REPO, dirBytes, fmt, machineLine, median, tempDir } from './lib.mjs';

const dist = (p) => join(REPO, 'packages/server/dist', p);
const { openSignalStore } = await import(dist('storage/signal-store/index.js'));
const { JsonLinesDecoderPool } = await import(dist('ingest/jsonlines/json-lines-decoder-pool.js'));
const { parseLogQL, LogQLEvaluator } = await import(dist('logql/index.js'));

const LINES = Number(process.env.BENCH_LINES ?? 10_000_000);
const CHUNK = 20_000;
// Bytes per request body: about 5,000 lines.
const BODY_BYTES = 5_000 * 326;
// Bodies in flight at once, as from several concurrent clients: decoding goes on while a commit runs.
const IN_FLIGHT = 16;
const DAY_MS = 86_400_000;

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const rand = rng(7);
// Ids come from a pool of random hex refilled per chunk: generation must not dominate the run.
let hexPool = '';
let hexPos = 0;
const hex = (n) => {
  if (hexPos + n > hexPool.length) {
    hexPool = randomBytes(1 << 20).toString('hex');
    hexPos = 0;
  }
  hexPos += n;
  return hexPool.slice(hexPos - n, hexPos);
};
const SERVICES = ['checkout', 'cart', 'payments', 'search', 'auth', 'gateway', 'inventory', 'shipping'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/search', '/api/login', '/api/items/:id', '/api/orders', '/healthz'];
const MESSAGES = {
  10: ['cache lookup', 'sql query planned'],
  20: ['request started', 'upstream call'],
  30: ['request completed', 'order created', 'cart updated', 'user logged in'],
  40: ['slow request', 'retrying upstream call', 'cache miss storm'],
  50: ['payment provider timeout', 'database connection reset', 'unhandled exception'],
};
const NEEDLE = 'card issuer unreachable';
const PINO_LEVEL = () => {
  const r = rand();
  return r < 0.1 ? 20 : r < 0.8 ? 30 : r < 0.92 ? 40 : 50;
};

function line(i, startMs) {
  const level = PINO_LEVEL();
  const msgs = MESSAGES[level];
  const msg = i % 5000 === 17 ? NEEDLE : msgs[Math.floor(rand() * msgs.length)];
  const status = level >= 50 ? 500 + Math.floor(rand() * 4) : level === 40 ? 429 : 200;
  return JSON.stringify({
    level,
    time: Math.floor(startMs + (i * DAY_MS) / LINES),
    pid: 4242,
    hostname: `node-${i % 7}`,
    name: SERVICES[i % SERVICES.length],
    request_id: `${hex(8)}-${i.toString(16).padStart(8, '0')}`,
    trace_id: hex(32),
    span_id: hex(16),
    req: { method: rand() < 0.7 ? 'GET' : 'POST', url: ROUTES[Math.floor(rand() * ROUTES.length)] },
    res: { statusCode: status },
    responseTime: Math.round(rand() * 800 * 10) / 10,
    user_id: `user-${Math.floor(rand() * 100_000)}`,
    msg,
  });
}

const threadIds = () => new Set(readdirSync('/proc/self/task').map(Number));

/**
 * CPU seconds of this process's main thread, of the threads in `decoders` and of all its other
 * threads (Linux /proc; null elsewhere).
 */
function threadCpu(decoders) {
  try {
    let main = 0;
    let decoding = 0;
    let others = 0;
    for (const tid of threadIds()) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(f[11]) + Number(f[12])) / 100;
      if (tid === process.pid) main += seconds;
      else if (decoders.has(tid)) decoding += seconds;
      else others += seconds;
    }
    return { main, decoding, others };
  } catch {
    return null;
  }
}

const time = async (fn) => {
  const t = performance.now();
  const result = await fn();
  return { ms: performance.now() - t, result };
};

console.log(`# logs benchmark: ${fmt(LINES, 0)} lines; ${machineLine()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const dir = tempDir('wk-bench-logs');
const rawPath = join(dir, 'raw.ndjson');
const startMs = Date.now() - DAY_MS;
const probeRequestIds = [];
let rawBytes = 0;
{
  const g = performance.now();
  const raw = createWriteStream(rawPath);
  const probeEvery = Math.floor(LINES / 5);
  for (let base = 0; base < LINES; base += CHUNK) {
    const lines = [];
    for (let i = base; i < Math.min(LINES, base + CHUNK); i++) {
      const text = line(i, startMs);
      if (i % probeEvery === probeEvery >> 1) probeRequestIds.push(JSON.parse(text).request_id);
      lines.push(text);
    }
    const text = `${lines.join('\n')}\n`;
    rawBytes += Buffer.byteLength(text);
    if (!raw.write(text)) await new Promise((r) => raw.once('drain', r));
  }
  await new Promise((r) => raw.end(r));
  console.log(`generated ${fmt(rawBytes / 1e6, 0)} MB of JSON lines (${fmt(rawBytes / LINES, 1)} bytes/line) in ${fmt((performance.now() - g) / 1000, 1)} s`);
}

const store = await openSignalStore({
  dir: join(dir, 'signals'),
  logger: pino({ level: 'silent' }),
  registry: new Registry(),
  retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 },
});
const defaults = { service: '', environment: 'bench', version: '' };
const threadsBeforePool = threadIds();
const decoder = new JsonLinesDecoderPool(process.env.BENCH_THREADS ? { threads: Number(process.env.BENCH_THREADS) } : {});
// Threads started since (the pool's workers, up and running after one decode) are counted as the decoders'.
await decoder.decode(Buffer.from('{}\n'), defaults, 0n);
const decoderThreads = new Set([...threadIds()].filter((t) => !threadsBeforePool.has(t)));
const inFlight = new Set();
const ingestStarted = performance.now();
const cpu = process.cpuUsage();
const threadsBefore = threadCpu(decoderThreads);
const elu = performance.eventLoopUtilization();
let stored = 0;
const submit = async (body) => {
  const observedNs = BigInt(Date.now()) * 1_000_000n;
  const p = decoder
    .decode(body, defaults, observedNs)
    .then(async (decoded) => {
      if (decoded.rejected > 0) throw new Error(decoded.rejectionSummary);
      await store.logs.appendColumns(decoded.columns);
      stored += decoded.columns.rowCount;
    })
    .finally(() => inFlight.delete(p));
  inFlight.add(p);
  if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
};
let rest = Buffer.alloc(0);
for await (const piece of createReadStream(rawPath, { highWaterMark: BODY_BYTES })) {
  const end = piece.lastIndexOf(10) + 1;
  if (end === 0) {
    rest = Buffer.concat([rest, piece]);
    continue;
  }
  await submit(Buffer.concat([rest, piece.subarray(0, end)]));
  rest = piece.subarray(end);
}
if (rest.length > 0) await submit(rest);
await Promise.all(inFlight);
if (stored !== LINES) throw new Error(`stored ${stored} of ${LINES} lines`);
const ingestMs = performance.now() - ingestStarted;
const used = process.cpuUsage(cpu);
const busy = performance.eventLoopUtilization(elu).utilization;
const threadsAfter = threadCpu(decoderThreads);
const cpuMicros = used.user + used.system;
await store.writes.exclusive((conn) => conn.run('CHECKPOINT'));
const storedBytes = dirBytes(join(dir, 'signals'));
// The file keeps blocks freed when checkpoints rewrite row groups (reused by later writes), so
// the blocks in use are the size of the data itself.
const usedBytes = await store.reads.use(async (conn) => {
  const [row] = (await conn.runAndReadAll("SELECT used_blocks * block_size FROM pragma_database_size() WHERE database_name = 'signals'")).getRows();
  return Number(row?.[0] ?? 0);
});

console.log(`ingest: ${fmt(LINES / (ingestMs / 1000), 0)} lines/s, ${fmt(rawBytes / 1e6 / (ingestMs / 1000), 1)} MB/s of raw JSON (read, decode, durable group commits; ${fmt(ingestMs / 1000, 1)} s)`);
console.log(`ingest CPU: ${fmt(cpuMicros / LINES, 1)} µs per line (user+system of all threads: ${fmt(LINES / (cpuMicros / 1e6), 0)} lines per CPU-second); event loop busy ${fmt(busy * 100, 0)} % of the ingest`);
if (threadsBefore && threadsAfter) {
  const perLine = (s) => fmt((s * 1e6) / LINES, 1);
  console.log(
    `ingest CPU by thread: main (event loop: appends) ${perLine(threadsAfter.main - threadsBefore.main)} µs per line, ` +
      `decoder workers (${decoderThreads.size} threads) ${perLine(threadsAfter.decoding - threadsBefore.decoding)} µs, ` +
      `other threads (DuckDB commits and checkpoints, file reads, GC helpers) ${perLine(threadsAfter.others - threadsBefore.others)} µs`,
  );
}
console.log(`stored: ${fmt(storedBytes / LINES, 1)} bytes/line on disk, ${fmt(usedBytes / LINES, 1)} in used blocks (raw JSON ${fmt(rawBytes / LINES, 1)} bytes/line: ${fmt(rawBytes / storedBytes, 2)}x, ${fmt(rawBytes / usedBytes, 2)}x smaller)`);

const logs = store.logs;
const all = { startNs: BigInt(startMs - 1000) * 1_000_000n, endNs: BigInt(Date.now() + 1000) * 1_000_000n };
const lookups = [];
let found = 0;
for (const id of probeRequestIds) {
  const r = await time(() => logs.select({ ...all, matchers: [], fields: { requestId: id }, direction: 'backward', limit: 10 }));
  lookups.push(r.ms);
  found += r.result.length;
}
console.log(`request-id lookup: median ${fmt(median(lookups), 1)} ms, max ${fmt(Math.max(...lookups), 1)} ms over ${lookups.length} ids spread over the data (found ${found} lines)`);

const substringCount = async () => {
  const c = await logs.countBuckets({ originNs: all.startNs, widthNs: all.endNs - all.startNs, bucketCount: 1, matchers: [], lineFilters: [{ op: 'contains', value: NEEDLE }] });
  return c.count.reduce((a, b) => a + b, 0);
};
const searches = [];
let matches = 0;
for (let i = 0; i < 3; i++) {
  const r = await time(substringCount);
  searches.push(r.ms);
  matches = r.result;
}
const greps = [];
let grepCount = 0;
for (let i = 0; i < 3; i++) {
  const r = await time(() => Number(execFileSync('grep', ['-c', '-F', NEEDLE, rawPath], { encoding: 'utf8' }).trim()));
  greps.push(r.ms);
  grepCount = r.result;
}
console.log(`substring search over all lines: median ${fmt(median(searches), 1)} ms (${matches} matches); grep -c -F over the raw file: ${fmt(median(greps), 1)} ms (${grepCount} matches); ratio ${fmt(median(searches) / median(greps), 2)}x grep`);
const pages = [];
let pageLines = 0;
for (let i = 0; i < 3; i++) {
  const r = await time(() => logs.select({ ...all, matchers: [], lineFilters: [{ op: 'contains', value: NEEDLE }], direction: 'backward', limit: 100 }));
  pages.push(r.ms);
  pageLines = r.result.length;
}
console.log(`substring search, newest 100 matching lines (a log view's first page): median ${fmt(median(pages), 1)} ms (${pageLines} lines)`);

const evaluator = new LogQLEvaluator(logs);
const q = parseLogQL('sum by (level) (count_over_time({service_name=~".+"}[1h]))');
const endNs = BigInt(Date.now()) * 1_000_000n;
const counts = [];
for (let i = 0; i < 3; i++) counts.push((await time(() => evaluator.evalMetric(q, { startNs: endNs - 86_400_000_000_000n, endNs, stepNs: 3_600_000_000_000n }))).ms);
console.log(`count_over_time by level over 24h (1h steps): median ${fmt(median(counts), 1)} ms`);

await decoder.close();
await store.close();
if (process.env.BENCH_KEEP) console.log(`kept the data in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
