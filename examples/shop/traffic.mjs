/**
 * Traffic for the example shop: virtual shoppers browse, fill carts and check out, in a cycle of
 * three phases: normal, outage (the payment provider hangs, so payments time out and the circuit
 * breaker opens; a flash sale of the limited grinder causes stock conflicts) and recovery. A few
 * checkouts use an expired coupon, which hits the shop's bug (HTTP 500, an error issue).
 *
 *   node examples/shop/traffic.mjs --shop http://127.0.0.1:3000 --payments http://127.0.0.1:3001
 *     [--rate 4] [--first-normal 8s] [--normal 20s] [--outage 15s] [--recovery 25s] [--cycles 0]
 *
 * --rate is shopper sessions started per second (each makes 2 to 8 requests); --cycles 0 runs
 * until SIGINT/SIGTERM. Prints one line per phase with the answers it got.
 */
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    shop: { type: 'string', default: 'http://127.0.0.1:3000' },
    payments: { type: 'string', default: 'http://127.0.0.1:3001' },
    rate: { type: 'string', default: '4' },
    'first-normal': { type: 'string', default: '8s' },
    normal: { type: 'string', default: '20s' },
    outage: { type: 'string', default: '15s' },
    recovery: { type: 'string', default: '25s' },
    cycles: { type: 'string', default: '0' },
  },
  strict: true,
});

const SHOP = args.shop.replace(/\/+$/, '');
const PAYMENTS = args.payments.replace(/\/+$/, '');
const RATE = Number(args.rate);
const CYCLES = Number(args.cycles);
const MAX_SESSIONS_IN_FLIGHT = 60;
const FLASH_SALE_SHOPPERS = 12;
const LIMITED_PRODUCT_ID = 4;
const PRODUCT_IDS = [1, 2, 3, 5, 6];
const DECLINED_CARD = '4000000000000002';
const COUPONS = ['WELCOME10', 'COFFEE5', 'SUMMER23'];
const started = Date.now();

if (!(RATE > 0) || !Number.isInteger(CYCLES) || CYCLES < 0) fail('--rate must be a positive number and --cycles a whole number');
const phases = {
  firstNormal: durationMs(args['first-normal'], '--first-normal'),
  normal: durationMs(args.normal, '--normal'),
  outage: durationMs(args.outage, '--outage'),
  recovery: durationMs(args.recovery, '--recovery'),
};

/** Answers of the current phase by status ("network" for failed requests). */
let tally = new Map();
let inFlight = 0;
let skipped = 0;
let stopping = false;

function say(line) {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(3);
  process.stdout.write(`[traffic +${t}s] ${line}\n`);
}

function fail(message) {
  process.stderr.write(`traffic: ${message}\n`);
  process.exit(2);
}

function durationMs(text, flag) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) fail(`${flag}: expected a duration like 500ms, 15s or 1m, got "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2]];
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const chance = (p) => Math.random() < p;

async function call(method, path, body) {
  try {
    const res = await fetch(`${SHOP}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
    return res.status < 300 ? await res.json() : (await res.arrayBuffer(), null);
  } catch {
    tally.set('network', (tally.get('network') ?? 0) + 1);
    return null;
  }
}

/** One shopper: browses, maybe fills a cart, maybe checks out. */
async function shopper() {
  await call('GET', '/products');
  for (let i = Math.floor(Math.random() * 3); i >= 0; i--) await call('GET', `/products/${chance(0.03) ? 99 : pick(PRODUCT_IDS)}`);
  if (!chance(0.55)) return;
  const cart = await call('POST', '/carts');
  if (!cart) return;
  for (let i = 1 + Math.floor(Math.random() * 3); i > 0; i--) await call('POST', `/carts/${cart.id}/items`, { productId: pick(PRODUCT_IDS), quantity: 1 + Math.floor(Math.random() * 2) });
  if (!chance(0.7)) return;
  await call('POST', `/carts/${cart.id}/checkout`, { card: chance(0.03) ? DECLINED_CARD : '4242424242424242', ...(chance(0.08) ? { coupon: pick(COUPONS) } : {}) });
}

/** A flash sale: many shoppers check the last grinders out at once; most meet a stock conflict. */
async function flashSale() {
  await Promise.all(
    Array.from({ length: FLASH_SALE_SHOPPERS }, async () => {
      const cart = await call('POST', '/carts');
      if (!cart) return;
      await call('POST', `/carts/${cart.id}/items`, { productId: LIMITED_PRODUCT_ID, quantity: 1 });
      await call('POST', `/carts/${cart.id}/checkout`, {});
    }),
  );
}

function startSession(session) {
  if (inFlight >= MAX_SESSIONS_IN_FLIGHT) return void skipped++;
  inFlight++;
  void session().finally(() => inFlight--);
}

async function setPaymentFault(mode, durationMs) {
  try {
    const res = await fetch(`${PAYMENTS}/admin/fault`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, durationMs }), signal: AbortSignal.timeout(5000) });
    if (!res.ok) say(`could not inject the payment fault: HTTP ${res.status}`);
  } catch (err) {
    say(`could not reach the payment service to inject the fault: ${err.message}`);
  }
}

function summary() {
  const parts = [...tally.entries()].sort(([a], [b]) => String(a).localeCompare(String(b))).map(([status, n]) => `${status}×${n}`);
  tally = new Map();
  const dropped = skipped > 0 ? `, ${skipped} sessions skipped (too many in flight)` : '';
  skipped = 0;
  return parts.length ? `answers ${parts.join(' ')}${dropped}` : `no answers yet${dropped}`;
}

/** Starts sessions at RATE per second for `ms`, unless stopping. */
async function run(ms) {
  const end = Date.now() + ms;
  while (!stopping && Date.now() < end) {
    startSession(shopper);
    await new Promise((r) => setTimeout(r, Math.min(1000 / RATE, Math.max(0, end - Date.now()))));
  }
}

async function main() {
  say(`shopping at ${SHOP}: ${RATE} sessions/s; phases normal ${args.normal}, outage ${args.outage}, recovery ${args.recovery}`);
  for (let cycle = 1; !stopping && (CYCLES === 0 || cycle <= CYCLES); cycle++) {
    say(`phase normal${cycle === 1 ? ' (warming up)' : ''}`);
    await run(cycle === 1 ? phases.firstNormal : phases.normal);
    if (stopping) break;
    say(`phase outage: the payment provider hangs for ${args.outage}; flash sale of the limited grinder (${summary()} before)`);
    await setPaymentFault('timeout', phases.outage);
    startSession(flashSale);
    await run(phases.outage);
    if (stopping) break;
    say(`phase recovery: the payment provider answers again (${summary()} during the outage)`);
    await run(phases.recovery);
    say(`cycle ${cycle} done (${summary()} during recovery)`);
  }
  await finish();
}

async function finish() {
  const deadline = Date.now() + 2000;
  while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  process.exit(0);
}

process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));
await main();
