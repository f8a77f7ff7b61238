/**
 * The example payment provider the shop charges: a plain node:http service instrumented with
 * @watchkeeper/node. `POST /charges` answers 200 (charged) or 402 (declined: the test card
 * 4000000000000002, and about 2 % of the others, but never the test card 4000000000000077) after
 * 20-120 ms.
 *
 * Faults for the demo, switched by `POST /admin/fault {"mode": ..., "durationMs": ...}`:
 * `timeout` (charges hang for 5 s, longer than the shop waits), `errors` (charges answer 503) and
 * `none`; a fault with a duration ends by itself.
 *
 * Environment: PORT (3001), HOST (127.0.0.1), and the SDK's: WATCHKEEPER_URL, WATCHKEEPER_DSN, LOG_LEVEL.
 */
import { init } from '@watchkeeper/node';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const PORT = Number(process.env.PORT ?? 3001);
const HOST = process.env.HOST ?? '127.0.0.1';
const FAULT_MODES = ['none', 'timeout', 'errors'];
const HANG_MS = 5000;
const DECLINED_CARD = '4000000000000002';
const APPROVED_CARD = '4000000000000077';

const wk = init({ service: 'payments', version: '2.0.3', environment: process.env.DEPLOY_ENV ?? 'demo', http: { excludePaths: ['/admin/fault'] } });
const log = wk.logger;
const charges = wk.metrics.counter('payment_charges_total', { help: 'Charges answered, by result', labelNames: ['result'] });

let fault = { mode: 'none', untilMs: Infinity };
const currentFault = () => (Date.now() < fault.untilMs ? fault.mode : 'none');

async function handle(req, res) {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'POST' && path === '/charges') return charge(await readJson(req), res);
  if (req.method === 'POST' && path === '/admin/fault') return setFault(await readJson(req), res);
  if (req.method === 'GET' && path === '/admin/fault') return send(res, 200, { mode: currentFault() });
  return send(res, 404, { error: `no route ${req.method} ${path}` });
}

async function charge(body, res) {
  if (body === null || typeof body.amount !== 'number' || !(body.amount > 0)) return send(res, 400, { error: 'expected a JSON body with a positive "amount"' });
  const mode = currentFault();
  if (mode === 'timeout') {
    log.warn({ order_id: body.orderId }, 'acquirer not answering: charge hangs');
    await sleep(HANG_MS);
  }
  if (mode === 'errors') {
    charges.inc({ result: 'error' });
    log.error({ order_id: body.orderId }, 'acquirer unavailable');
    return send(res, 503, { error: 'acquirer unavailable' });
  }
  await sleep(20 + Math.random() * 100);
  if (body.card === DECLINED_CARD || (body.card !== APPROVED_CARD && Math.random() < 0.02)) {
    charges.inc({ result: 'declined' });
    log.info({ order_id: body.orderId, amount: body.amount }, 'charge declined');
    return send(res, 402, { status: 'declined', reason: 'insufficient funds' });
  }
  const id = `ch_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  charges.inc({ result: 'succeeded' });
  log.info({ order_id: body.orderId, amount: body.amount, currency: body.currency, charge_id: id }, 'charge succeeded');
  return send(res, 200, { id, status: 'succeeded', amount: body.amount });
}

function setFault(body, res) {
  if (body === null || !FAULT_MODES.includes(body.mode)) return send(res, 400, { error: `"mode" must be one of ${FAULT_MODES.join(', ')}` });
  const durationMs = body.durationMs === undefined ? Infinity : Number(body.durationMs);
  if (!(durationMs > 0)) return send(res, 400, { error: '"durationMs" must be a positive number of milliseconds' });
  fault = { mode: body.mode, untilMs: Date.now() + durationMs };
  log.warn({ mode: body.mode, duration_ms: Number.isFinite(durationMs) ? durationMs : undefined }, `fault injected: ${body.mode}`);
  return send(res, 200, { mode: body.mode });
}

/** The JSON body, or null when it is not JSON. */
async function readJson(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 65_536) return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

wk.health({ checks: { acquirer: () => currentFault() === 'none' || Promise.reject(new Error(`fault injected: ${currentFault()}`)) } });

// Charges use the default route templates (/charges); ids never appear in these paths.
const server = createServer(wk.httpHandler(handle));
server.listen(PORT, HOST, () => log.info({ port: PORT }, `payments listening on http://${HOST}:${PORT}`));

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'payments shutting down');
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await wk.shutdown();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
