// Trace ingest and query. Generates realistic traces (5–50 spans each across several services,
// HTTP and database attributes, ~3 % errors with exception events), encodes them as OTLP/HTTP
// protobuf requests with OpenTelemetry's own generated codec before timing starts, and posts them
// over keep-alive HTTP to a Watchkeeper server in a child process (real routes, DuckDB signal
// store, span metrics; packages/server/dist: run `npm run build` first), several requests in
// flight as a few Collectors would. Prints spans/s accepted (acknowledged = durable), the server's
// CPU per span, bytes stored per span, and the latency of trace-by-id and of a search by service
// and minimum duration over all of them, through the Tempo API.
// Options (env): BENCH_SPANS (default 1,000,000), BENCH_CONCURRENCY (default 4),
// BENCH_PROFILE (a directory: the server writes a --cpu-prof profile there), BENCH_NODE_ARGS (extra
// Node flags for the server, e.g. --max-semi-space-size=64).
import { createRequire } from 'node:module';
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { REPO, dirBytes, fmt, machineLine, median, procStats, tempDir } from './lib.mjs';

const dist = (p) => join(REPO, 'packages/server/dist', p);

async function runServer(dir) {
  const { pino } = await import('pino');
  const { createHttpServer } = await import(dist('api/http-server.js'));
  const { AccessControl } = await import(dist('api/auth.js'));
  const { createSelfMetrics } = await import(dist('selfobs/metrics.js'));
  const { openSignalStore } = await import(dist('storage/signal-store/index.js'));
  const { DuckDBTraceStore } = await import(dist('storage/signal-store/traces/duckdb-trace-store.js'));
  const { MemoryStorage } = await import(dist('storage/memory/memory-storage.js'));
  const { registerOtlpTracesRoutes } = await import(dist('ingest/otlp/traces-routes.js'));
  const { registerTempoApi } = await import(dist('api/tempo/tempo-api.js'));
  const { SpanMetricsGenerator } = await import(dist('span-metrics/span-metrics-generator.js'));
  const logger = pino({ level: 'warn' });
  const metrics = createSelfMetrics('bench');
  const signals = await openSignalStore({ dir, logger, registry: metrics.registry, retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
  const traces = await DuckDBTraceStore.open(signals, { retentionMs: 0 });
  const spanMetrics = new SpanMetricsGenerator({ appendable: new MemoryStorage(), logger, registry: metrics.registry });
  const app = createHttpServer({ logger, metrics, accessControl: () => new AccessControl([]), bodyLimitBytes: 64 * 1024 * 1024 });
  registerOtlpTracesRoutes(app, { store: traces, logger, registry: metrics.registry, spanMetrics });
  registerTempoApi(app, { traces });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ port: app.server.address().port });
  process.on('message', async (m) => {
    if (m === 'checkpoint') {
      await signals.writes.exclusive((conn) => conn.run('CHECKPOINT'));
      const text = await metrics.registry.metrics();
      const pick = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      process.send({ commits: pick('watchkeeper_signal_store_commits_total'), rows: pick('watchkeeper_signal_store_rows_written_total'), seconds: pick('watchkeeper_signal_store_commit_duration_seconds_sum') });
    }
    if (m === 'stop') {
      await spanMetrics.stop();
      await app.close();
      await signals.close();
      process.exit(0);
    }
  });
}

const SERVICES = ['gateway', 'checkout', 'cart', 'payments', 'inventory', 'shipping'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/search', '/api/items/:id', '/api/orders'];

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const rand = rng(11);
const idBytes = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
  return b;
};
const str = (v) => ({ stringValue: v });
const int = (v) => ({ intValue: v });

/** One trace: a gateway root span calling services, which call each other and a database. */
function trace(startMs) {
  const traceId = idBytes(16);
  const n = 5 + Math.floor(rand() * 46);
  const spans = [];
  const t0 = BigInt(startMs) * 1_000_000n;
  for (let i = 0; i < n; i++) {
    const service = i === 0 ? 0 : 1 + Math.floor(rand() * (SERVICES.length - 1));
    const parent = i === 0 ? null : spans[Math.floor(rand() * i)];
    const start = t0 + BigInt(i) * 2_000_000n;
    const dur = BigInt(Math.floor(rand() * (i === 0 ? 900 : 300) * 1e6));
    const error = rand() < 0.03;
    const db = i > 0 && rand() < 0.3;
    const route = ROUTES[Math.floor(rand() * ROUTES.length)];
    spans.push({
      service,
      span: {
        traceId,
        spanId: idBytes(8),
        parentSpanId: parent ? parent.span.spanId : undefined,
        name: db ? 'SELECT orders' : `${i % 2 ? 'POST' : 'GET'} ${route}`,
        kind: db ? 3 : i === 0 ? 2 : i % 2 ? 3 : 2,
        startTimeUnixNano: start.toString(),
        endTimeUnixNano: (start + dur).toString(),
        attributes: db
          ? [{ key: 'db.system', value: str('postgresql') }, { key: 'db.name', value: str('orders') }, { key: 'db.statement', value: str('SELECT * FROM orders WHERE id = $1') }]
          : [
              { key: 'http.request.method', value: str(i % 2 ? 'POST' : 'GET') },
              { key: 'http.route', value: str(route) },
              { key: 'http.response.status_code', value: int(error ? 500 : 200) },
              { key: 'url.path', value: str(route.replace(':id', String(Math.floor(rand() * 1000)))) },
              ...(i === 0 ? [{ key: 'http.request.header.x-request-id', value: { arrayValue: { values: [str(idBytes(8).toString('hex'))] } } }] : []),
            ],
        events: error ? [{ timeUnixNano: (start + dur / 2n).toString(), name: 'exception', attributes: [{ key: 'exception.type', value: str('Error') }, { key: 'exception.message', value: str('upstream failed') }] }] : [],
        status: error ? { code: 2, message: 'upstream failed' } : {},
      },
    });
  }
  return spans;
}

function requestBody(Request, traces) {
  const byService = SERVICES.map(() => []);
  for (const t of traces) for (const s of t) byService[s.service].push(s.span);
  const resourceSpans = byService
    .map((spans, i) => ({
      resource: { attributes: [{ key: 'service.name', value: str(SERVICES[i]) }, { key: 'service.version', value: str('1.8.0') }, { key: 'host.name', value: str(`node-${i}`) }, { key: 'telemetry.sdk.language', value: str('nodejs') }] },
      scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-http', version: '0.214.0' }, spans }],
    }))
    .filter((r) => r.scopeSpans[0].spans.length > 0);
  return Buffer.from(Request.encode(Request.fromObject({ resourceSpans })).finish());
}

async function runClient() {
  const SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
  const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
  const TRACES_PER_REQUEST = 100;
  console.log(`# traces benchmark: ${fmt(SPANS, 0)} spans, ${CONCURRENCY} requests in flight; ${machineLine()}`);
  const require = createRequire(join(REPO, 'packages/server/package.json'));
  const transformerDir = dirname(require.resolve('@opentelemetry/otlp-transformer/package.json'));
  const Request = require(join(transformerDir, 'build/src/generated/root.js')).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

  // Requests are encoded up front so that the client's own work does not limit the figure.
  const g = performance.now();
  const startMs = Date.now() - 3_600_000;
  const bodies = [];
  const probes = [];
  let sent = 0;
  let bodyBytes = 0;
  let traceCount = 0;
  while (sent < SPANS) {
    const batch = [];
    for (let i = 0; i < TRACES_PER_REQUEST && sent < SPANS; i++) {
      const t = trace(startMs + Math.floor((traceCount * 3_600_000) / (SPANS / 27)));
      batch.push(t);
      sent += t.length;
      if (traceCount++ % 997 === 0) probes.push(t[0].span.traceId.toString('hex'));
    }
    const body = requestBody(Request, batch);
    bodyBytes += body.length;
    bodies.push(body);
  }
  console.log(`prepared ${fmt(bodies.length, 0)} requests of ~${fmt(sent / bodies.length, 0)} spans (${fmt(traceCount, 0)} traces) in ${fmt((performance.now() - g) / 1000, 1)} s`);

  const dir = tempDir('wk-bench-traces');
  const execArgv = [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = fork(new URL(import.meta.url).pathname, ['--server', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/traces', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`ingest answered ${res.statusCode}: ${Buffer.concat(chunks)}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const cpuBefore = procStats(child.pid).cpuSeconds;
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) await post(bodies[next++]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const stats = procStats(child.pid);
  const cpu = stats.cpuSeconds - cpuBefore;
  console.log(`ingest: ${fmt(sent / seconds, 0)} spans/s accepted over OTLP/HTTP protobuf (${fmt(seconds, 1)} s; durable acks, span metrics on)`);
  console.log(`server: CPU ${fmt(cpu, 1)} s (${fmt((cpu / sent) * 1e6, 1)} µs per span, all threads), peak RSS ${fmt(stats.peakRssBytes / 2 ** 20, 0)} MiB`);
  child.send('checkpoint');
  const c = await new Promise((resolve) => child.once('message', resolve));
  console.log(`store: ${fmt(c.commits, 0)} group commits, ${fmt(c.rows / Math.max(1, c.commits), 0)} rows each, ${fmt((c.seconds / Math.max(1, c.commits)) * 1000, 1)} ms each (${fmt(c.seconds, 1)} s in total)`);
  const storedBytes = dirBytes(dir);
  console.log(`stored: ${fmt(storedBytes / sent, 1)} bytes/span on disk after a checkpoint (OTLP protobuf ${fmt(bodyBytes / sent, 1)} bytes/span)`);

  const byId = [];
  for (const id of probes.slice(0, 30)) {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/traces/${id}`);
    await res.arrayBuffer();
    byId.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`trace ${id} answered ${res.status}`);
  }
  console.log(`trace by id (HTTP, OTLP JSON): median ${fmt(median(byId), 1)} ms, max ${fmt(Math.max(...byId), 1)} ms over ${byId.length}`);

  const searches = [];
  let found = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/search?tags=${encodeURIComponent('service.name=payments')}&minDuration=250ms&limit=20`);
    found = (await res.json()).traces.length;
    searches.push(performance.now() - t);
  }
  console.log(`search service.name=payments minDuration=250ms limit 20: median ${fmt(median(searches), 1)} ms (${found} traces)`);

  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === '--server') {
  await runServer(process.argv[3]);
} else {
  await runClient();
}
