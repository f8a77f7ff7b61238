// Trace ingest and query. Generates realistic traces (5–50 spans each across several services,
// HTTP and database attributes, ~3 % errors with exception events), encodes them as OTLP/HTTP
// protobuf requests with OpenTelemetry's own generated codec, and posts them to an in-process
// Watchkeeper HTTP server (real routes, DuckDB signal store, span metrics; packages/server/dist:
// run `npm run build` first). Prints spans/s accepted (acknowledged = durable), bytes stored per
// span, and the latency of trace-by-id and of a search by service and minimum duration over all
// of them, through the Tempo API. Options (env): BENCH_SPANS (default 1,000,000).
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { REPO, dirBytes, fmt, machineLine, median, tempDir } from './lib.mjs';

const dist = (p) => join(REPO, 'packages/server/dist', p);
const { createHttpServer } = await import(dist('api/http-server.js'));
const { AccessControl } = await import(dist('api/auth.js'));
const { createSelfMetrics } = await import(dist('selfobs/metrics.js'));
const { openSignalStore } = await import(dist('storage/signal-store/index.js'));
const { DuckDBTraceStore } = await import(dist('storage/signal-store/traces/duckdb-trace-store.js'));
const { MemoryStorage } = await import(dist('storage/memory/memory-storage.js'));
const { registerOtlpTracesRoutes } = await import(dist('ingest/otlp/traces-routes.js'));
const { registerTempoApi } = await import(dist('api/tempo/tempo-api.js'));
const { SpanMetricsGenerator } = await import(dist('span-metrics/span-metrics-generator.js'));

const require = createRequire(join(REPO, 'packages/server/package.json'));
const transformerDir = dirname(require.resolve('@opentelemetry/otlp-transformer/package.json'));
const Request = require(join(transformerDir, 'build/src/generated/root.js')).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const SPANS = Number(process.env.BENCH_SPANS ?? 1_000_000);
const TRACES_PER_REQUEST = 100;
const IN_FLIGHT = 4;
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

function request(traces) {
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

console.log(`# traces benchmark: ${fmt(SPANS, 0)} spans; ${machineLine()}`);
const dir = tempDir('wk-bench-traces');
const logger = pino({ level: 'silent' });
const metrics = createSelfMetrics('bench');
const signals = await openSignalStore({ dir: join(dir, 'signals'), logger, registry: metrics.registry, retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
const traces = await DuckDBTraceStore.open(signals, { retentionMs: 0 });
const spanMetrics = new SpanMetricsGenerator({ appendable: new MemoryStorage(), logger, registry: metrics.registry });
const app = createHttpServer({ logger, metrics, accessControl: () => new AccessControl([]), bodyLimitBytes: 64 * 1024 * 1024 });
registerOtlpTracesRoutes(app, { store: traces, logger, registry: metrics.registry, spanMetrics });
registerTempoApi(app, { traces });
const url = await app.listen({ host: '127.0.0.1', port: 0 });

const startMs = Date.now() - 3_600_000;
let sent = 0;
let bodyBytes = 0;
let genMs = 0;
let ingestMs = 0;
let traceCount = 0;
const probes = [];
const inFlight = new Set();
while (sent < SPANS) {
  const g = performance.now();
  const batch = [];
  for (let i = 0; i < TRACES_PER_REQUEST && sent < SPANS; i++) {
    const t = trace(startMs + Math.floor((traceCount * 3_600_000) / (SPANS / 27)));
    batch.push(t);
    sent += t.length;
    if (traceCount++ % 997 === 0) probes.push(t[0].span.traceId.toString('hex'));
  }
  const body = request(batch);
  bodyBytes += body.length;
  genMs += performance.now() - g;
  const t = performance.now();
  const p = fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body }).then(async (res) => {
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  });
  const tracked = p.finally(() => inFlight.delete(tracked));
  inFlight.add(tracked);
  if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  ingestMs += performance.now() - t;
}
const tail = performance.now();
await Promise.all(inFlight);
ingestMs += performance.now() - tail;
await signals.writes.exclusive((conn) => conn.run('CHECKPOINT'));
const storedBytes = dirBytes(join(dir, 'signals'));
console.log(`ingest: ${fmt(sent / (ingestMs / 1000), 0)} spans/s accepted over OTLP/HTTP protobuf (${fmt(traceCount, 0)} traces; durable acks, span metrics on; request generation took ${fmt(genMs / 1000, 1)} s apart)`);
console.log(`stored: ${fmt(storedBytes / sent, 1)} bytes/span on disk (OTLP protobuf ${fmt(bodyBytes / sent, 1)} bytes/span)`);

const byId = [];
for (const id of probes.slice(0, 30)) {
  const t = performance.now();
  const res = await fetch(`${url}/api/traces/${id}`);
  await res.arrayBuffer();
  byId.push(performance.now() - t);
  if (res.status !== 200) throw new Error(`trace ${id} answered ${res.status}`);
}
console.log(`trace by id (HTTP, OTLP JSON): median ${fmt(median(byId), 1)} ms, max ${fmt(Math.max(...byId), 1)} ms over ${byId.length}`);

const searches = [];
let found = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const res = await fetch(`${url}/api/search?tags=${encodeURIComponent('service.name=payments')}&minDuration=250ms&limit=20`);
  found = (await res.json()).traces.length;
  searches.push(performance.now() - t);
}
console.log(`search service.name=payments minDuration=250ms limit 20: median ${fmt(median(searches), 1)} ms (${found} traces)`);

await app.close();
await signals.close();
rmSync(dir, { recursive: true, force: true });
