// Sentry error ingest: events/s accepted and grouped into issues, and the latency of the issue list.
// A child process runs the HTTP server with the Sentry routes over the embedded signal store
// (packages/server/dist: run `npm run build` first); this process posts realistic envelopes over
// keep-alive HTTP with several requests in flight, as many SDK clients would: one event per
// envelope, a few hundred distinct issues (Node, Python and browser stacks of 20–40 frames,
// chained causes, breadcrumbs, tags, users), a share of them gzip-compressed.
// Options (env): BENCH_EVENTS (default 100,000), BENCH_ISSUES (default 300), BENCH_CONCURRENCY (default 32),
// BENCH_PREPARE_THREADS (the routes' preparation threads; default theirs, 0 prepares on the event loop),
// BENCH_COMMIT_DELAY_MS (the signal store writer's commit delay; default the store's),
// BENCH_PROFILE (a directory: the server runs with --cpu-prof, one profile per thread).
// Server CPU is split by thread from /proc: the event loop, the preparation threads (the threads
// started while the routes were registered), and the rest (DuckDB, V8's GC and compiler helpers, libuv).
import { fork } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { REPO, fmt, machineLine, median, procStats, tempDir } from './lib.mjs';

const dist = (p) => join(REPO, 'packages/server/dist', p);
const KEY = 'benchpublickey01';

/**
 * One keep-alive HTTP/1.1 connection with one request in flight, as an SDK's transport sends
 * them. It reads only what the benchmark needs of a response: the status and, by Content-Length,
 * where the response ends.
 */
class KeepAliveConnection {
  static open(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('connect', () => resolve(new KeepAliveConnection(socket)));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.pending = null;
    this.buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** Sends a whole request; resolves with the response's status code. */
  send(request) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  onData(chunk) {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length === null) return this.fail(new Error(`a response without Content-Length: ${head}`));
    const end = headEnd + 4 + Number(length[1]);
    if (this.buffered.length < end) return;
    this.buffered = this.buffered.subarray(end);
    const pending = this.pending;
    this.pending = null;
    pending?.resolve(Number(head.slice(9, 12)));
  }

  fail(err) {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(err);
  }

  close() {
    this.socket.removeAllListeners('close');
    this.socket.end();
  }
}

if (process.argv[2] === '--server') {
  await runServer(process.argv[3]);
} else {
  await runClient();
}

async function runServer(dir) {
  const { pino } = await import('pino');
  const { createHttpServer } = await import(dist('api/http-server.js'));
  const { AccessControl } = await import(dist('api/auth.js'));
  const { createSelfMetrics } = await import(dist('selfobs/metrics.js'));
  const { openSignalStore } = await import(dist('storage/signal-store/index.js'));
  const { DuckDBErrorStore } = await import(dist('storage/signal-store/errors/duckdb-error-store.js'));
  const { ErrorIngestor, ProjectRegistry, ProjectRateLimiter } = await import(dist('errors/index.js'));
  const { registerSentryIngestRoutes } = await import(dist('ingest/sentry/sentry-routes.js'));
  const { registerErrorsApi } = await import(dist('api/errors/issues-api.js'));
  const logger = pino({ level: 'warn' });
  const metrics = createSelfMetrics('bench');
  const commitDelay = process.env.BENCH_COMMIT_DELAY_MS === undefined ? {} : { commitDelayMs: Number(process.env.BENCH_COMMIT_DELAY_MS) };
  const signals = await openSignalStore({ dir, logger, registry: metrics.registry, retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 }, ...commitDelay });
  const store = await DuckDBErrorStore.open(signals, { retentionMs: 0 });
  const ingestor = new ErrorIngestor({ store, registry: metrics.registry, logger });
  const projects = new ProjectRegistry([{ id: 1, name: 'shop', keys: [KEY], rate_limit_per_minute: 0, scrub_fields: [], services: [] }]);
  const access = new AccessControl([]);
  const app = createHttpServer({ logger, metrics, accessControl: () => access, bodyLimitBytes: 32 * 1024 * 1024 });
  const threadsBefore = new Set(threadIds(process.pid));
  const prepareThreads = process.env.BENCH_PREPARE_THREADS === undefined ? undefined : Number(process.env.BENCH_PREPARE_THREADS);
  registerSentryIngestRoutes(app, { ingestor, projects: () => projects, rateLimiter: new ProjectRateLimiter(), maxDecodedBytes: 32 * 1024 * 1024, prepareThreads });
  const preparers = threadIds(process.pid).filter((t) => !threadsBefore.has(t));
  registerErrorsApi(app, { store, projects: () => projects, externalUrl: () => 'http://127.0.0.1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ port: app.server.address().port, preparers });
  process.on('message', async (m) => {
    if (m === 'commits') {
      const text = await metrics.registry.metrics();
      const pick = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      process.send({ commits: pick('watchkeeper_signal_store_commits_total'), rows: pick('watchkeeper_signal_store_rows_written_total'), seconds: pick('watchkeeper_signal_store_commit_duration_seconds_sum') });
    }
    if (m === 'stop') {
      await app.close();
      await signals.close();
      process.exit(0);
    }
  });
  // A client that died (an error, a timeout) leaves no server behind.
  process.on('disconnect', () => process.exit(1));
}

function threadIds(pid) {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}

/** CPU seconds per thread id of a live process. */
function threadCpu(pid) {
  const out = new Map();
  for (const tid of threadIds(pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** One realistic event payload for issue `k` (platform and stack depth vary by issue). */
function eventFor(k, i, rand) {
  const depth = 20 + (k % 21);
  const platform = ['node', 'python', 'javascript'][k % 3];
  const frames = [];
  for (let d = 0; d < depth; d++) {
    const inApp = d >= depth - 6;
    if (platform === 'python') {
      frames.push({ module: inApp ? `shop.views.mod${k}` : `django.core.handlers.h${d}`, function: inApp ? `handler_${k}_${d}` : `dispatch_${d}`, filename: inApp ? `shop/views/mod${k}.py` : `django/core/handlers/h${d}.py`, lineno: 10 + d, in_app: inApp, context_line: '    return view(request)' });
    } else if (platform === 'javascript') {
      frames.push({ filename: `https://shop.example.com/static/js/${inApp ? 'main' : 'vendor'}.${(k * 7919).toString(16)}ab.js`, function: inApp ? `Component${k}_${d}` : 'r', lineno: 1, colno: 1000 + d * 37, in_app: inApp });
    } else {
      frames.push({ filename: inApp ? `/srv/shop/src/service${k}.js` : `/srv/shop/node_modules/express/lib/router/layer${d}.js`, module: inApp ? `src:service${k}` : `express.lib.router:layer${d}`, function: inApp ? `Service${k}.step${d}` : `Layer.handle${d}`, lineno: 100 + d, colno: 7, in_app: inApp, pre_context: ['const a = 1;', 'const b = 2;'], context_line: '  throw new Error(msg);', post_context: ['}'] });
    }
  }
  const values = [{ type: `Error${k % 17}`, value: `cause of issue ${k}`, stacktrace: { frames: frames.slice(-8) } }, { type: `Failure${k}`, value: `request ${i} failed for order ${Math.floor(rand() * 1e6)}`, mechanism: { type: 'generic', handled: true }, stacktrace: { frames } }];
  return {
    event_id: (i.toString(16) + Math.floor(rand() * 2 ** 32).toString(16)).padStart(32, '0').slice(-32),
    timestamp: Date.now() / 1000 - rand() * 3600,
    platform,
    level: k % 10 === 0 ? 'warning' : 'error',
    release: `shop@1.${k % 5}.0`,
    environment: k % 4 === 0 ? 'staging' : 'production',
    server_name: `node-${i % 8}`,
    transaction: `/api/route${k % 40}`,
    exception: { values },
    tags: { region: ['eu', 'us', 'ap'][i % 3], browser: platform === 'javascript' ? 'Chrome 130' : undefined },
    user: { id: `user-${Math.floor(rand() * 5000)}`, ip_address: '10.0.0.1' },
    request: { url: `https://shop.example.com/api/route${k % 40}?page=${i % 9}`, method: 'POST', headers: { 'User-Agent': 'Mozilla/5.0', Authorization: 'Bearer abc', Accept: 'application/json' } },
    contexts: { trace: { trace_id: (i * 2654435761).toString(16).padStart(32, 'a').slice(-32), span_id: (i + 1).toString(16).padStart(16, 'b').slice(-16) }, runtime: { name: 'node', version: 'v20.20.2' } },
    breadcrumbs: { values: Array.from({ length: 10 }, (_, b) => ({ timestamp: Date.now() / 1000 - b, category: 'http', message: `GET /api/item/${b}`, data: { status_code: 200 } })) },
    extra: { cart_size: i % 13 },
    sdk: { name: `sentry.${platform}`, version: '11.12.0' },
  };
}

function envelopeBody(event) {
  return Buffer.from(`${JSON.stringify({ event_id: event.event_id, sent_at: new Date().toISOString() })}\n{"type":"event"}\n${JSON.stringify(event)}\n`);
}

async function runClient() {
  const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
  const ISSUES = Number(process.env.BENCH_ISSUES ?? 300);
  const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
  const DISTINCT_BODIES = 4000;
  console.log(`# errors benchmark: ${fmt(EVENTS, 0)} events, ${ISSUES} issues, ${CONCURRENCY} requests in flight; ${machineLine()}`);
  const rand = rng(11);
  // Bodies and whole requests are prepared up front, and sent by a minimal keep-alive HTTP/1.1
  // client (KeepAliveConnection), so that the client's own work takes little of the machine the
  // server shares: Node's http client cost 0.13 ms of CPU an event, a sixth of all the work.
  const bodies = [];
  let bodyBytes = 0;
  for (let i = 0; i < DISTINCT_BODIES; i++) {
    const raw = envelopeBody(eventFor(Math.floor(rand() * ISSUES), i, rand));
    const gzip = i % 4 === 0;
    const body = gzip ? gzipSync(raw) : raw;
    bodyBytes += raw.length;
    bodies.push({ body, gzip });
  }
  console.log(`prepared ${DISTINCT_BODIES} distinct envelopes, mean ${fmt(bodyBytes / DISTINCT_BODIES / 1024, 1)} KiB uncompressed, 1 in 4 gzip-compressed`);
  const dir = tempDir('wk-bench-errors');
  const child = fork(new URL(import.meta.url).pathname, ['--server', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [] });
  const { port, preparers } = await new Promise((resolve) => child.once('message', resolve));
  const requests = bodies.map(({ body, gzip }) =>
    Buffer.concat([
      Buffer.from(
        `POST /api/1/envelope/?sentry_key=${KEY}&sentry_version=7 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          `Content-Type: application/x-sentry-envelope\r\nContent-Length: ${body.length}\r\n${gzip ? 'Content-Encoding: gzip\r\n' : ''}\r\n`,
      ),
      body,
    ]),
  );
  const connections = await Promise.all(Array.from({ length: CONCURRENCY }, () => KeepAliveConnection.open(port)));
  const cpuBefore = procStats(child.pid).cpuSeconds;
  const threadsBefore = threadCpu(child.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const worker = async (connection) => {
    while (next < EVENTS) {
      const i = next++;
      const status = await connection.send(requests[i % DISTINCT_BODIES]);
      if (status !== 200) throw new Error(`status ${status}`);
    }
  };
  try {
    await Promise.all(connections.map(worker));
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  for (const c of connections) c.close();
  const stats = procStats(child.pid);
  const threadsAfter = threadCpu(child.pid);
  const client = process.cpuUsage(clientBefore);
  const cpu = { loop: 0, prepare: 0, other: 0 };
  for (const [tid, s] of threadsAfter) {
    const used = s - (threadsBefore.get(tid) ?? 0);
    if (tid === child.pid) cpu.loop += used;
    else if (preparers.includes(tid)) cpu.prepare += used;
    else cpu.other += used;
  }
  const perEvent = (s) => fmt((s * 1000) / EVENTS, 3);
  console.log(`ingest: ${fmt(EVENTS / seconds, 0)} events/s accepted and grouped (${fmt(seconds, 1)} s; server CPU ${fmt(stats.cpuSeconds - cpuBefore, 1)} s, peak RSS ${fmt(stats.peakRssBytes / 2 ** 20, 0)} MiB)`);
  console.log(`server CPU per event: ${perEvent(stats.cpuSeconds - cpuBefore)} ms (event loop ${perEvent(cpu.loop)}, ${preparers.length} preparation thread(s) ${perEvent(cpu.prepare)}, other threads ${perEvent(cpu.other)}); this client ${perEvent((client.user + client.system) / 1e6)} ms`);
  child.send('commits');
  const c = await new Promise((resolve) => child.once('message', resolve));
  console.log(`store: ${fmt(c.commits, 0)} group commits, ${fmt(c.rows / Math.max(1, c.commits), 1)} rows each, ${fmt((c.seconds / Math.max(1, c.commits)) * 1000, 1)} ms each (${fmt(c.seconds, 1)} s in total)`);
  const lat = async (path) => {
    const times = [];
    let data;
    for (let r = 0; r < 20; r++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      data = await res.json();
      times.push(performance.now() - t);
    }
    return { ms: median(times), data };
  };
  const list = await lat('/api/v1/issues?sort=last_seen&limit=100');
  const total = list.data.data.total;
  const events = list.data.data.issues.reduce((n, i) => n + i.count, 0);
  console.log(`issues: ${total} (expected at most ${ISSUES}); issue list (100 of them, with user counts): median ${fmt(list.ms, 1)} ms over 20 calls`);
  const search = await lat('/api/v1/issues?query=Failure1&environment=production&sort=count');
  console.log(`issue search (text + environment filter): median ${fmt(search.ms, 1)} ms`);
  const detail = await lat(`/api/v1/issues/${list.data.data.issues[0].id}?hours=24`);
  console.log(`issue detail (tags, releases, hourly trend, latest event): median ${fmt(detail.ms, 1)} ms; events counted on the first page: ${fmt(events, 0)}`);
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
