/**
 * `npm run demo`: Watchkeeper with the demo configuration, the example shop, its payment service
 * and the traffic generator, all on 127.0.0.1. Within a minute every pillar has data and the
 * payment outage of the traffic's cycle makes PaymentCircuitOpen fire, then resolve; the demo's
 * webhook receiver prints each notification. Ctrl-C (SIGINT) or SIGTERM stops everything it
 * started, in order: traffic, services (which flush their telemetry), Watchkeeper.
 *
 *   node examples/shop/demo/demo.mjs [--free-ports] [--data-dir DIR] [--rate 4] [--speedup 12]
 *     [--watchkeeper-port 9700] [--shop-port 3000] [--payments-port 3001] [--webhook-port 3002]
 *
 * Without --data-dir the data lives in a temporary directory removed at the end.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { demoDsn, DEMO_PROJECT, writeDemoConfig } from './demo-config.mjs';
import { startWebhookReceiver } from './webhook-receiver.mjs';

const SHOP_DIR = resolve(import.meta.dirname, '..');
const CLI = resolve(SHOP_DIR, '../../packages/server/dist/cli/main.js');
const STOP_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;

const { values: args } = parseArgs({
  options: {
    'free-ports': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    rate: { type: 'string', default: '4' },
    speedup: { type: 'string', default: '12' },
    'watchkeeper-port': { type: 'string', default: '9700' },
    'shop-port': { type: 'string', default: '3000' },
    'payments-port': { type: 'string', default: '3001' },
    'webhook-port': { type: 'string', default: '3002' },
  },
  strict: true,
});

const say = (line) => process.stdout.write(`${line}\n`);

/** Children started so far, in start order: { name, proc, logFile, exited }. */
const children = [];
let stopping = null;
let runDir = '';
let keepRunDir = false;
let receiver = null;

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function port(flag) {
  if (args['free-ports']) return freePort();
  const n = Number(args[flag]);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`--${flag}: expected a port number, got "${args[flag]}"`);
  return n;
}

/** Starts a child in its own process group (a terminal's Ctrl-C reaches only the demo, which stops it in order). */
function start(name, argv, { env = {}, logFile = null } = {}) {
  if (stopping) throw new Error('stopping');
  const proc = spawn(process.execPath, argv, {
    cwd: SHOP_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', logFile ? 'pipe' : 'inherit', logFile ? 'pipe' : 'inherit'],
    detached: true,
  });
  if (logFile) {
    const out = createWriteStream(logFile);
    proc.stdout.pipe(out);
    proc.stderr.pipe(out);
  }
  const child = { name, proc, logFile, code: null };
  child.exited = new Promise((ok) => proc.on('exit', (code, signal) => ok((child.code = code ?? signal))));
  void child.exited.then(() => {
    if (!stopping) {
      const lastLines = logFile ? tail(logFile, 15) : '';
      say(`\n${name} exited unexpectedly (${child.code}).${logFile ? ` Last lines of ${logFile}:\n${lastLines}` : ''}${/EADDRINUSE|already in use/.test(lastLines) ? PORT_HINT : ''}`);
      void stopAll(1);
    }
  });
  children.push(child);
  say(`started ${name} (pid ${proc.pid})`);
  return child;
}

const PORT_HINT = '\nA port is taken: choose others (--watchkeeper-port, --shop-port, ...) or let the demo pick free ones with --free-ports.';

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n');
  } catch {
    return '  (no output)';
  }
}

/** Polls `url` until it answers 200; throws after READY_TIMEOUT_MS or when `child` exits. */
async function waitReady(child, url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.code !== null || stopping) throw new Error(`${child.name} did not start`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} was not ready at ${url} within ${READY_TIMEOUT_MS / 1000} s`);
}

async function stopChild(child) {
  if (child.code !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    say(`${child.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`);
    child.proc.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  await child.exited;
  clearTimeout(timer);
}

/** Stops the traffic, then the services, then Watchkeeper; exits with `code`. Idempotent. */
function stopAll(code) {
  stopping ??= (async () => {
    say('\nstopping the demo…');
    const byName = (n) => children.filter((c) => c.name === n);
    await Promise.all(byName('traffic').map(stopChild));
    await Promise.all([...byName('shop'), ...byName('payments')].map(stopChild));
    await Promise.all(children.map(stopChild));
    await receiver?.close();
    if (runDir && !keepRunDir) rmSync(runDir, { recursive: true, force: true });
    say(`stopped: ${children.map((c) => `${c.name} (${c.code})`).join(', ') || 'nothing was running'}`);
    process.exit(code);
  })();
  return stopping;
}

// A child still running when the demo exits for any other reason is killed with it.
process.on('exit', () => {
  for (const c of children) if (c.code === null) c.proc.kill('SIGKILL');
});
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('SIGHUP', () => void stopAll(0));

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build, or npm run demo which builds)`);
  const wkPort = await port('watchkeeper-port');
  const shopPort = await port('shop-port');
  const paymentsPort = await port('payments-port');
  const webhookPort = args['free-ports'] ? 0 : await port('webhook-port');
  keepRunDir = args['data-dir'] !== undefined;
  runDir = keepRunDir ? resolve(args['data-dir']) : mkdtempSync(join(tmpdir(), 'watchkeeper-demo-'));
  mkdirSync(join(runDir, 'logs'), { recursive: true });

  receiver = await startWebhookReceiver(webhookPort, say);
  const wkUrl = `http://127.0.0.1:${wkPort}`;
  const configPath = writeDemoConfig({
    dir: runDir,
    shopTarget: `127.0.0.1:${shopPort}`,
    paymentsTarget: `127.0.0.1:${paymentsPort}`,
    webhookUrl: receiver.url,
    speedup: Number(args.speedup),
  });

  const wk = start('watchkeeper', [CLI, 'start', '--config', configPath, '--data-dir', join(runDir, 'data'), '--listen', `127.0.0.1:${wkPort}`], {
    logFile: join(runDir, 'logs', 'watchkeeper.log'),
  });
  await waitReady(wk, `${wkUrl}/healthz/ready`);

  const sdkEnv = { WATCHKEEPER_URL: wkUrl, DEPLOY_ENV: 'demo' };
  const payments = start('payments', ['payments.mjs'], { env: { ...sdkEnv, PORT: String(paymentsPort) }, logFile: join(runDir, 'logs', 'payments.log') });
  const shop = start('shop', ['shop.mjs'], {
    env: { ...sdkEnv, PORT: String(shopPort), PAYMENTS_URL: `http://127.0.0.1:${paymentsPort}`, WATCHKEEPER_DSN: demoDsn(wkUrl) },
    logFile: join(runDir, 'logs', 'shop.log'),
  });
  await Promise.all([waitReady(payments, `http://127.0.0.1:${paymentsPort}/healthz/live`), waitReady(shop, `http://127.0.0.1:${shopPort}/healthz/live`)]);
  start('traffic', ['traffic.mjs', '--shop', `http://127.0.0.1:${shopPort}`, '--payments', `http://127.0.0.1:${paymentsPort}`, '--rate', args.rate]);
  printGuide(wkUrl, shopPort, paymentsPort);
}

function printGuide(wkUrl, shopPort, paymentsPort) {
  const q = (path, params) => `${wkUrl}${path}?${new URLSearchParams(params)}`;
  say(`
Watchkeeper demo is running. Ctrl-C stops everything.

  Watchkeeper      ${wkUrl}   (Grafana: Prometheus, Loki and Tempo data sources at this URL)
  shop             http://127.0.0.1:${shopPort}/products
  payment service  http://127.0.0.1:${paymentsPort}
  run directory    ${runDir}   (configuration, data, logs/*.log)
  error DSN        ${demoDsn(wkUrl)}

The traffic cycles through normal, payment outage and recovery phases. Look at:
  metrics   ${q('/api/v1/query', { query: 'sum by (outcome) (rate(payments_total[1m]))' })}
            ${q('/api/v1/query', { query: 'payment_circuit_breaker_state' })}
            ${q('/api/v1/query', { query: 'job:http_errors:ratio_rate5m' })}
  logs      ${q('/loki/api/v1/query_range', { query: '{service_name="shop"} | level="warn"', limit: '20' })}
  traces    ${q('/api/search', { tags: 'service.name=shop', limit: '20' })}   then ${wkUrl}/api/traces/<traceID>
  errors    ${q('/api/v1/issues', { project: DEMO_PROJECT.name })}
  alerts    ${wkUrl}/api/v1/alerts   (notifications are printed below as they arrive)
`);
}

main().catch((err) => {
  if (stopping) return;
  say(`demo failed: ${err.message}${err.code === 'EADDRINUSE' ? PORT_HINT : ''}`);
  for (const c of children) if (c.logFile) say(`last lines of ${c.logFile}:\n${tail(c.logFile, 10)}`);
  void stopAll(1);
});
