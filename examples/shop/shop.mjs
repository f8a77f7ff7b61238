/**
 * The example shop: products, carts and checkout over HTTP (Fastify), instrumented with
 * @watchkeeper/node. Checkout charges the separate payment service through a circuit breaker; when
 * the provider is down the order is accepted as "payment pending" and a background worker retries
 * the charge. Business metrics: orders_total, payments_total{outcome}, checkout_duration_seconds,
 * payment_circuit_breaker_state{provider}, worker_queue_depth{queue} and
 * bookings_double_booking_detected_total (a stock invariant checked by the worker).
 *
 * Environment: PORT (3000), HOST (127.0.0.1), PAYMENTS_URL (http://127.0.0.1:3001),
 * PAYMENT_TIMEOUT_MS (800), and the SDK's: WATCHKEEPER_URL, WATCHKEEPER_DSN, LOG_LEVEL.
 */
import { context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { init, requestStore } from '@watchkeeper/node';
import Fastify from 'fastify';
import { BreakerState, CircuitBreaker } from './lib/circuit-breaker.mjs';
import { PaymentClient, PaymentDeclinedError, PaymentUnavailableError } from './lib/payment-client.mjs';
import { ShopStore } from './lib/shop-store.mjs';
import { QueueFullError, WorkQueue } from './lib/work-queue.mjs';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const PROVIDER = 'acmepay';

const wk = init({ service: 'shop', version: '1.4.0', environment: process.env.DEPLOY_ENV ?? 'demo' });
const log = wk.logger;
const tracer = trace.getTracer('shop');

const metrics = {
  orders: wk.metrics.counter('orders_total', { help: 'Orders placed, by payment status', labelNames: ['status'] }),
  payments: wk.metrics.counter('payments_total', { help: 'Payment attempts, by outcome (success, declined, timeout, error, rejected)', labelNames: ['outcome'] }),
  checkout: wk.metrics.histogram('checkout_duration_seconds', {
    help: 'Time to check a cart out, by outcome',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  breaker: wk.metrics.gauge('payment_circuit_breaker_state', { help: 'Circuit breaker of the payment provider: 0 closed, 1 open, 2 half-open', labelNames: ['provider'] }),
  queueDepth: wk.metrics.gauge('worker_queue_depth', { help: 'Jobs waiting or running in the background worker, by queue', labelNames: ['queue'] }),
  doubleBookings: wk.metrics.counter('bookings_double_booking_detected_total', { help: 'Units sold twice, found by the stock reconciliation' }),
};

const store = new ShopStore();
const breaker = new CircuitBreaker({
  name: PROVIDER,
  failureThreshold: 5,
  coolDownMs: 10_000,
  onStateChange: (state, name) => {
    metrics.breaker.set({ provider: PROVIDER }, state);
    if (state === BreakerState.OPEN) log.warn({ provider: PROVIDER }, 'payment circuit breaker opened: failing fast');
    else log.info({ provider: PROVIDER, state: name }, `payment circuit breaker ${name}`);
  },
});
metrics.breaker.set({ provider: PROVIDER }, breaker.state);
const payments = new PaymentClient({ baseUrl: process.env.PAYMENTS_URL ?? 'http://127.0.0.1:3001', timeoutMs: Number(process.env.PAYMENT_TIMEOUT_MS ?? 800), breaker, payments: metrics.payments });

/**
 * Runs a background job in a trace of its own, linked to the request that queued it, and outside
 * that request's context (its request id would otherwise follow the job's log lines).
 */
const inJobSpan = (name, job, attributes, fn) =>
  requestStore.exit(() =>
    context.with(ROOT_CONTEXT, () =>
      tracer.startActiveSpan(name, { attributes: { 'order.id': job.order.id, ...attributes }, links: job.origin ? [{ context: job.origin }] : [] }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          // A failed attempt is retried: an error status, not an exception event (which would be
          // an error issue of its own); the error tracker hears of a job only when it is given up.
          span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
          throw err;
        } finally {
          span.end();
        }
      }),
    ),
  );

/** A job for the worker: the order, and the span of the request that queued it. */
const jobFor = (order, extra = {}) => ({ order, origin: trace.getActiveSpan()?.spanContext(), ...extra });

const fulfilment = new WorkQueue({
  name: 'fulfilment',
  concurrency: 2,
  onDepth: (depth) => metrics.queueDepth.set({ queue: 'fulfilment' }, depth),
  handler: (job) =>
    inJobSpan('job fulfilment', job, {}, () =>
      wk.timed('fulfilment_job_duration_seconds', async () => {
        await sleep(20 + Math.random() * 60);
        log.info({ order_id: job.order.id, items: job.order.items.length }, 'order shipped');
      }),
    ),
});

const paymentRetry = new WorkQueue({
  name: 'payment-retry',
  concurrency: 1,
  maxAttempts: 10,
  retryDelayMs: 2000,
  onDepth: (depth) => metrics.queueDepth.set({ queue: 'payment-retry' }, depth),
  handler: (job, attempt) =>
    inJobSpan('job payment-retry', job, { attempt }, async () => {
      const { order } = job;
      try {
        await payments.charge({ orderId: order.id, amount: order.total, card: job.card });
      } catch (err) {
        if (!(err instanceof PaymentDeclinedError)) throw err;
        order.status = 'cancelled';
        store.release(order);
        log.warn({ order_id: order.id }, 'pending payment declined on retry: order cancelled');
        return;
      }
      order.status = 'paid';
      log.info({ order_id: order.id, attempt }, 'pending payment charged');
      fulfilment.push(jobFor(order));
    }),
  onGiveUp: ({ order }, err) => {
    order.status = 'cancelled';
    store.release(order);
    log.error({ order_id: order.id, err }, 'payment retries exhausted: order cancelled');
    wk.captureException(err, { tags: { order_id: order.id, provider: PROVIDER }, level: 'error' });
  },
});
for (const queue of ['fulfilment', 'payment-retry']) metrics.queueDepth.set({ queue }, 0);

wk.health({
  checks: {
    // Payments degrade gracefully (orders wait in the retry queue): not critical for readiness.
    payments: { check: () => (breaker.state === BreakerState.OPEN ? Promise.reject(new Error('circuit breaker open')) : { breaker: breaker.stateName }), critical: false },
    worker: () => ({ fulfilment: fulfilment.depth, 'payment-retry': paymentRetry.depth }),
  },
  timeoutMs: 1000,
});

const app = Fastify();
await app.register(wk.fastify);

app.setErrorHandler((err, req, reply) => {
  const status = err.statusCode ?? 500;
  if (status >= 500) log.error({ err, route: req.routeOptions.url }, 'request failed with an unexpected error');
  return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
});

app.get('/products', async () => ({ products: store.listProducts() }));
app.get('/products/:id', async (req) => store.product(req.params.id));

app.post('/carts', async (_req, reply) => reply.code(201).send(store.createCart()));
app.get('/carts/:id', async (req) => store.cart(req.params.id));
app.post('/carts/:id/items', async (req) => {
  const { productId, quantity = 1 } = req.body ?? {};
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 10) throw Object.assign(new Error('quantity must be an integer from 1 to 10'), { statusCode: 400 });
  const cart = store.addItem(req.params.id, productId, quantity);
  log.debug({ cart_id: cart.id, product_id: productId, quantity }, 'item added to cart');
  return cart;
});

app.post('/carts/:id/checkout', async (req, reply) => {
  const end = metrics.checkout.startTimer();
  const { coupon, card = '4242424242424242' } = req.body ?? {};
  let outcome = 'error';
  try {
    const cart = store.cart(req.params.id);
    if (cart.items.length === 0) throw Object.assign(new Error('the cart is empty'), { statusCode: 400 });
    const total = store.total(cart, coupon);
    try {
      store.reserve(cart);
    } catch (err) {
      outcome = 'stock_conflict';
      log.warn({ cart_id: cart.id, reason: err.message }, 'checkout refused: stock conflict');
      throw err;
    }
    const order = store.createOrder(cart, total, 'pending');
    try {
      const charge = await payments.charge({ orderId: order.id, amount: total, card });
      order.status = 'paid';
      outcome = 'paid';
      metrics.orders.inc({ status: 'paid' });
      fulfilment.push(jobFor(order));
      log.info({ order_id: order.id, total, charge_id: charge.id }, 'order placed and paid');
      return reply.code(201).send(order);
    } catch (err) {
      if (err instanceof PaymentDeclinedError) {
        outcome = 'declined';
        order.status = 'cancelled';
        store.release(order);
        log.info({ order_id: order.id }, 'payment declined');
        throw err;
      }
      if (!(err instanceof PaymentUnavailableError)) throw err;
      // The provider is down or slow: accept the order and let the worker charge it later.
      order.status = 'payment_pending';
      paymentRetry.push(jobFor(order, { card }));
      outcome = 'payment_pending';
      metrics.orders.inc({ status: 'payment_pending' });
      if (err.outcome === 'timeout') wk.captureException(err, { level: 'warning', tags: { provider: PROVIDER, order_id: order.id } });
      log.warn({ order_id: order.id, reason: err.message }, 'payment provider unavailable: order accepted, payment pending');
      return reply.code(202).send(order);
    }
  } catch (err) {
    if (err instanceof QueueFullError) throw Object.assign(err, { statusCode: 503 });
    throw err;
  } finally {
    end({ outcome });
  }
});

app.get('/orders/:id', async (req) => store.order(req.params.id));

// The warehouse delivers every 20 s; the reconciliation checks the stock invariant every 5 s.
const timers = [
  setInterval(() => store.restock(), 20_000),
  setInterval(() => store.expire(10 * 60_000), 60_000),
  setInterval(() => {
    for (const product of store.overbooked()) {
      metrics.doubleBookings.inc();
      log.error({ product_id: product.id }, 'stock reconciliation: units of this product were sold twice');
    }
  }, 5000),
];

await app.listen({ port: PORT, host: HOST });
log.info({ port: PORT }, `shop listening on http://${HOST}:${PORT}`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shop shutting down');
  for (const t of timers) clearInterval(t);
  await app.close();
  await Promise.all([fulfilment.stop(), paymentRetry.stop()]);
  await wk.shutdown();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
