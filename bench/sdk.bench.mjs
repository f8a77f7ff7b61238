// @watchkeeper/node overhead: a minimal Express and a minimal Fastify service, each measured with
// autocannon without and with the SDK fully enabled (tracing at 100 % exported over OTLP, pino JSON
// lines to stdout and shipped over OTLP, access lines, RED metrics, error capture), reporting
// requests/s, p99 latency, server CPU per request and the overhead. Both variants run the same
// handler, which logs one line: with its own pino logger (plain) or the SDK's.
// Method: each service runs in its own process (the SDK is process-wide) with stdout to /dev/null;
// when taskset is available the service is pinned to the last CPU and this process (autocannon and
// the OTLP/envelope sink, which answers 200) to the others, so the service has a core of its own
// and its throughput measures its own cost. packages/sdk-node/dist is used: run `npm run build` first.
// Options (env): BENCH_DURATION seconds per run (default 10), BENCH_CONNECTIONS (default 10),
// BENCH_ROUNDS (default 3, alternating plain and SDK), BENCH_FRAMEWORKS (default express,fastify),
// BENCH_SDK_OPTIONS (JSON merged into init() options, e.g. '{"tracing":false}' to see what each part costs),
// BENCH_CLOSED_LOOP=1 (CPU per request of the service and a raw client in one process, BENCH_REQUESTS
// requests, default 20000: steadier than autocannon on a loaded machine; no requests/s or p99; also
// the bytes allocated and surviving scavenges and the GC time per request, which hardly move with load),
// BENCH_PLAIN_ALS=1 (the plain variant also runs each request in an AsyncLocalStorage context: what
// any async context propagation costs on this Node version, the floor under the SDK's overhead),
// BENCH_SDK_DIST (another build's index.js to measure instead of packages/sdk-node/dist, e.g. a
// previous commit's compiled with tsc into a scratch directory: before/after with the same method),
// BENCH_FLOOR=1 (a third variant, "floor": the plain service plus less per-request work than any
// SDK must do to give every request an id, a context and a traced span and to ship its line,
// written inline: a lower bound of any implementation's overhead; see floorInstrumentation),
// BENCH_NODE_ARGS (flags for the service's node, space-separated, e.g. '--cpu-prof --cpu-prof-dir=/tmp/p').
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO, fmt, machineLine, median } from './lib.mjs';

const SDK = process.env.BENCH_SDK_DIST ?? join(REPO, 'packages/sdk-node/dist/index.js');
const serviceNodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

if (process.argv[2] === '--service') await runService(process.argv[3], process.argv[4], process.argv[5]);
else if (process.argv[2] === '--closed-loop') await runClosedLoop(process.argv[3], process.argv[4], process.argv[5]);
else await runBench();

async function runService(framework, mode, sinkUrl) {
  const { port, wk } = await startService(framework, mode, sinkUrl);
  process.send({ port });
  process.on('message', async (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
    if (m === 'stop') {
      await wk?.shutdown();
      process.exit(0);
    }
  });
}

// The service and a raw keep-alive HTTP/1.1 client (8 connections, one request at a time each) in
// one process: CPU per request includes the client's share, which is the same with and without
// the SDK, and no scheduling between processes gets in the way. The client is a plain socket so
// that the SDK does not trace or breadcrumb it.
async function runClosedLoop(framework, mode, sinkUrl) {
  const { default: net } = await import('node:net');
  const { port, wk } = await startService(framework, mode, sinkUrl);
  const request = Buffer.from('GET /users/42 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const drive = async (total) => {
    let sent = 0;
    const connection = async () => {
      const socket = await new Promise((ok) => {
        const s = net.connect(port, '127.0.0.1', () => ok(s));
      });
      let buffered = '';
      let answered = null;
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        const head = buffered.indexOf('\r\n\r\n');
        if (head < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, head))?.[1] ?? 0);
        if (buffered.length < head + 4 + length) return;
        if (!buffered.startsWith('HTTP/1.1 200')) throw new Error(`closed loop: ${buffered.slice(0, 40)}`);
        buffered = buffered.slice(head + 4 + length);
        answered();
      });
      while (sent++ < total) await new Promise((r) => ((answered = r), socket.write(request)));
      socket.destroy();
    };
    await Promise.all(Array.from({ length: 8 }, connection));
  };
  const total = Number(process.env.BENCH_REQUESTS ?? 20_000);
  await drive(Math.min(5000, total)); // warm-up: JIT, pools
  const { GCProfiler, getHeapStatistics } = await import('node:v8');
  const profiler = new GCProfiler();
  const usedBefore = getHeapStatistics().used_heap_size;
  profiler.start();
  const before = process.cpuUsage();
  await drive(total);
  const cpu = process.cpuUsage(before);
  const gc = gcPerRequest(profiler.stop(), usedBefore, getHeapStatistics().used_heap_size, total);
  await wk?.shutdown();
  process.send({ cpuUs: (cpu.user + cpu.system) / total, gc });
  process.exit(0);
}

/**
 * What the garbage collector saw per request, from V8's heap statistics around each collection:
 * bytes allocated, bytes that survived a scavenge (copied or promoted: what makes scavenges and
 * later mark-sweeps cost), and collection time. Unlike CPU time these hardly move with the load
 * of other processes, so they show an allocation change on a noisy machine.
 */
function gcPerRequest(profile, usedBefore, usedAfter, requests) {
  const used = (s) => s.heapStatistics.usedHeapSize;
  const young = (s) => s.heapSpaceStatistics.filter((x) => x.spaceName === 'new_space' || x.spaceName === 'new_large_object_space').reduce((n, x) => n + x.spaceUsedSize, 0);
  let allocated = 0;
  let survived = 0;
  let costUs = 0;
  let last = usedBefore;
  for (const e of profile.statistics) {
    allocated += Math.max(0, used(e.beforeGC) - last);
    if (e.gcType === 'Scavenge') survived += used(e.afterGC) - (used(e.beforeGC) - young(e.beforeGC));
    costUs += e.cost;
    last = used(e.afterGC);
  }
  allocated += Math.max(0, usedAfter - last);
  return { allocatedKb: allocated / requests / 1024, survivedKb: survived / requests / 1024, gcUs: costUs / requests };
}

async function startService(framework, mode, sinkUrl) {
  const { default: pino } = await import('pino');
  let wk = null;
  let logger;
  if (mode === 'sdk') {
    const { init } = await import(SDK);
    wk = init({
      service: `bench-${framework}`,
      endpoint: sinkUrl,
      dsn: `${sinkUrl.replace('http://', 'http://0123456789abcdef0123456789abcdef@')}/1`,
      errors: { captureUncaught: false },
      env: {},
      ...JSON.parse(process.env.BENCH_SDK_OPTIONS ?? '{}'),
    });
    logger = wk.logger;
  } else if (mode === 'floor') {
    logger = await floorInstrumentation(pino);
  } else {
    logger = pino(tunedStdout(pino));
  }
  const user = (id) => ({ id, name: `user ${id}`, roles: ['reader'] });
  let requestContext = null;
  if (mode === 'plain' && process.env.BENCH_PLAIN_ALS === '1') {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const storage = new AsyncLocalStorage();
    requestContext = (next) => storage.run({ started: Date.now() }, next);
  }
  let port;
  if (framework === 'express') {
    const { default: express } = await import('express');
    const app = express();
    if (wk) app.use(wk.express());
    if (requestContext) app.use((req, res, next) => requestContext(next));
    app.get('/users/:id', (req, res) => {
      logger.info({ user: req.params.id }, 'user loaded');
      res.json(user(req.params.id));
    });
    const server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    port = server.address().port;
  } else {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    if (wk) await app.register(wk.fastify);
    if (requestContext) app.addHook('onRequest', (req, reply, next) => requestContext(next));
    app.get('/users/:id', async (req) => {
      logger.info({ user: req.params.id }, 'user loaded');
      return user(req.params.id);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = app.server.address().port;
  }
  return { port, wk };
}

/** What a well-tuned service without the SDK writes its lines to: stdout through sonic-boom, synchronous, in 4 KiB chunks. */
function tunedStdout(pino) {
  return pino.destination({ dest: 1, sync: true, minLength: 4096, periodicFlush: 250 });
}

/**
 * Less per-request work than any SDK can do that gives every request an id and a context, traces
 * it and ships its log line, written inline with the cheapest means known here: where Node emits
 * the request (no framework hooks), an AsyncLocalStorage context with the request id and random
 * trace and span ids, the ids appended to the line, and the line and a span record kept in batches
 * of 512 that are then discarded. Left out: encoding, export, metrics, access lines, and echoing
 * X-Request-ID (a header set before the framework's own sends Node's writeHead down its slow path).
 * BENCH_FLOOR_NO_SPAN=1 also leaves out the trace: what an untraced (unsampled) request still costs.
 */
async function floorInstrumentation(pino) {
  const { AsyncLocalStorage } = await import('node:async_hooks');
  const { randomFillSync, randomUUID } = await import('node:crypto');
  const traced = process.env.BENCH_FLOOR_NO_SPAN !== '1';
  const storage = new AsyncLocalStorage();
  const random = Buffer.alloc(24 * 1024);
  let at = random.length;
  const batch = (queue, item) => {
    queue.push(item);
    if (queue.length === 512) queue.length = 0;
  };
  const spans = [];
  const lines = [];
  const stdout = tunedStdout(pino);
  const write = (line) => {
    const c = storage.getStore();
    const withIds = c === undefined ? line : `${line.slice(0, -2)},"request_id":"${c.requestId}"${traced ? `,"trace_id":"${c.traceId}","span_id":"${c.spanId}"` : ''}}\n`;
    stdout.write(withIds);
    batch(lines, withIds);
  };
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, req, res) {
    if (event !== 'request') return emit.apply(this, arguments);
    const given = req.headers['x-request-id'];
    const ctx = { requestId: typeof given === 'string' ? given : randomUUID(), traceId: '', spanId: '', startMs: performance.now() };
    if (traced) {
      if (at === random.length) (randomFillSync(random), (at = 0));
      ctx.traceId = random.toString('hex', at, at + 16);
      ctx.spanId = random.toString('hex', at + 16, at + 24);
      at += 24;
      res.on('finish', () => batch(spans, { traceId: ctx.traceId, spanId: ctx.spanId, status: res.statusCode, startMs: ctx.startMs, endMs: performance.now() }));
    }
    return storage.run(ctx, () => emit.call(this, event, req, res));
  };
  return pino({}, { write });
}

/** CPU sets for the service and for this process, when taskset can pin them (null otherwise). */
function pinning() {
  const cpus = availableParallelism();
  if (cpus < 2) return null;
  try {
    execFileSync('taskset', ['-pc', `0-${cpus - 2}`, String(process.pid)], { stdio: 'ignore' });
    return { service: String(cpus - 1), client: `0-${cpus - 2}` };
  } catch {
    return null;
  }
}

async function runBench() {
  const { default: autocannon } = await import('autocannon');
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const frameworks = (process.env.BENCH_FRAMEWORKS ?? 'express,fastify').split(',');
  const pins = pinning();
  let sinkRequests = 0;
  const sink = http.createServer((req, res) => {
    sinkRequests++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': req.url.startsWith('/v1/') ? 'application/x-protobuf' : 'application/json' }).end(req.url.startsWith('/v1/') ? '' : '{}'));
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${sink.address().port}`;

  /** Starts this script as the service process (`role` is --service or --closed-loop), pinned when it can be. */
  const spawnService = (role, framework, mode) => {
    const args = [...serviceNodeArgs, new URL(import.meta.url).pathname, role, framework, mode, sinkUrl];
    const [cmd, cmdArgs] = pins ? ['taskset', ['-c', pins.service, process.execPath, ...args]] : [process.execPath, args];
    return spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  };

  const closedLoop = async (framework, mode) => {
    const child = spawnService('--closed-loop', framework, mode);
    const result = await new Promise((ok, fail) => (child.once('message', ok), child.once('exit', (code) => fail(new Error(`closed loop exited with ${code}`)))));
    return { rps: NaN, p99: NaN, cpuUs: result.cpuUs, gc: result.gc };
  };

  const measure = async (framework, mode) => {
    if (process.env.BENCH_CLOSED_LOOP === '1') return closedLoop(framework, mode);
    const child = spawnService('--service', framework, mode);
    const { port } = await new Promise((r) => child.once('message', r));
    const url = `http://127.0.0.1:${port}/users/42`;
    await autocannon({ url, connections, duration: 2 }); // warm-up: JIT, pools
    const cpu = () => new Promise((r) => (child.once('message', (m) => r(m.cpu)), child.send('cpu')));
    const before = await cpu();
    const result = await autocannon({ url, connections, duration });
    const after = await cpu();
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${framework}: ${result.non2xx} non-2xx and ${result.errors} errors`);
    // CPU per request is steadier than throughput on a shared machine.
    const cpuUs = (after.user + after.system - before.user - before.system) / result.requests.total;
    return { rps: result.requests.average, p99: result.latency.p99, cpuUs };
  };

  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`SDK overhead, ${duration} s per run, ${connections} connections, median of ${rounds} alternating rounds; ${machineLine()}`);
  console.log(pins ? `service pinned to CPU ${pins.service}, autocannon and the sink to CPU ${pins.client}` : 'not pinned (taskset missing or one CPU): autocannon competes with the service');
  console.log(`load average at start: ${load()}`);
  console.log('framework  mode       req/s    p99 ms  CPU µs/req (median / best)  throughput overhead  CPU overhead (medians)');
  const gcRows = [];
  for (const framework of frameworks) {
    const plain = [];
    const sdk = [];
    const floor = [];
    // Alternate the modes so drifting background load hits them alike.
    for (let i = 0; i < rounds; i++) {
      plain.push(await measure(framework, 'plain'));
      sdk.push(await measure(framework, 'sdk'));
      if (process.env.BENCH_FLOOR === '1') floor.push(await measure(framework, 'floor'));
    }
    const summary = (runs) => ({ rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99)), cpuUs: median(runs.map((r) => r.cpuUs)), bestCpuUs: Math.min(...runs.map((r) => r.cpuUs)) });
    const base = summary(plain);
    const withSdk = summary(sdk);
    const num = (v, digits) => (Number.isFinite(v) ? fmt(v, digits) : '-');
    const row = (mode, r) => `${framework.padEnd(10)} ${mode.padEnd(6)} ${num(r.rps, 0).padStart(9)}  ${num(r.p99).padStart(8)}  ${`${fmt(r.cpuUs, 1)} / ${fmt(r.bestCpuUs, 1)}`.padStart(26)}`;
    const overheads = (r) => `${`${num((1 - r.rps / base.rps) * 100, 1)} %`.padStart(19)}  ${`${fmt((r.cpuUs / base.cpuUs - 1) * 100, 1)} %`.padStart(22)}`;
    console.log(row('plain', base));
    console.log(`${row('sdk', withSdk)}  ${overheads(withSdk)}`);
    if (floor.length > 0) console.log(`${row('floor', summary(floor))}  ${overheads(summary(floor))}`);
    if (process.env.BENCH_CLOSED_LOOP === '1') gcRows.push([framework, { plain, sdk, floor }]);
  }
  if (gcRows.length > 0) {
    console.log('garbage collection per request (medians): framework  mode   allocated KB  survived scavenges KB  GC µs');
    for (const [framework, modes] of gcRows) {
      for (const [mode, runs] of Object.entries(modes)) {
        if (runs.length === 0) continue;
        const m = (key) => fmt(median(runs.map((r) => r.gc[key])), 2);
        console.log(`${' '.repeat(42)}${framework.padEnd(10)} ${mode.padEnd(6)} ${m('allocatedKb').padStart(12)}  ${m('survivedKb').padStart(21)}  ${m('gcUs').padStart(5)}`);
      }
    }
  }
  console.log(`load average at end: ${load()}; sink received ${sinkRequests} OTLP/envelope requests`);
  sink.close();
}
