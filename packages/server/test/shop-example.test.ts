/**
 * The example shop (examples/shop) against a real `watchkeeper start` with the demo configuration:
 * under generated traffic it appears in every pillar — scraped RED and business metrics, logs
 * found by request id with LogQL, one trace across the shop and the payment service, error issues
 * carrying their trace id — and the example rule PaymentCircuitOpen fires during the payment
 * outage, reaches the webhook, and resolves after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startWatchkeeper, tempDir, type RunningProcess } from './support/watchkeeper-process.js';
// @ts-expect-error: a plain-JS example module without type declarations
import { demoDsn, writeDemoConfig } from '../../../examples/shop/demo/demo-config.mjs';
// @ts-expect-error: a plain-JS example module without type declarations
import { startWebhookReceiver } from '../../../examples/shop/demo/webhook-receiver.mjs';

const SHOP_DIR = resolve(import.meta.dirname, '../../../examples/shop');
const SHARED_RULES = resolve(import.meta.dirname, '../../../../shared/examples/rules.yml');

interface Service {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<unknown>;
}

function startService(name: string, args: string[], env: Record<string, string>): Service {
  const proc = spawn(process.execPath, args, { cwd: SHOP_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  // Only the last lines are kept: they explain a failure, and memory stays bounded.
  const keep = (d: Buffer) => {
    output.push(d.toString());
    if (output.length > 200) output.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { name, proc, output, exited: new Promise((ok) => proc.on('exit', ok)) };
}

const services: Service[] = [];

/** What the services printed last, for failure messages. */
function servicesReport(): string {
  return services.map((s) => `--- ${s.name} (${s.proc.exitCode ?? s.proc.signalCode ?? 'running'}):\n${s.output.join('').split('\n').slice(-8).join('\n')}`).join('\n');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${servicesReport()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];
type Alerts = { data: { alerts: { labels: Record<string, string>; state: string }[] } };

describe('the example shop in every pillar of a real Watchkeeper', () => {
  const dir = tempDir('wk-shop');
  const notifications: string[] = [];
  let receiver: { url: string; close(): Promise<void> };
  let wk: RunningProcess;
  let shopUrl = '';
  // A checkout and a coupon checkout (the shop's bug) made by the test, with known ids.
  const checkout = { requestId: `test-checkout-${randomUUID()}`, traceId: randomBytes(16).toString('hex'), status: 0 };
  const bug = { requestId: `test-bug-${randomUUID()}`, traceId: randomBytes(16).toString('hex'), status: 0 };
  // The outage's alert is firing only for a while: /api/v1/alerts is watched from the start.
  let firingAlert: Alerts['data']['alerts'][number] | undefined;
  let alertsPoller: NodeJS.Timeout | undefined;

  const query = async (promql: string): Promise<Vector> =>
    (await getJson<{ data: { result: Vector } }>(`${wk.url}/api/v1/query?${new URLSearchParams({ query: promql })}`)).data.result;
  const firstValue = async (promql: string): Promise<number | undefined> => {
    const r = await query(promql);
    return r.length > 0 ? Number(r[0]!.value[1]) : undefined;
  };

  /** Adds one item to a new cart and checks it out with these headers and body. */
  async function checkoutOnce(ids: { requestId: string; traceId: string }, body: Record<string, unknown>): Promise<number> {
    const headers = { 'content-type': 'application/json', 'x-request-id': ids.requestId, traceparent: `00-${ids.traceId}-${randomBytes(8).toString('hex')}-01` };
    const cart = (await (await fetch(`${shopUrl}/carts`, { method: 'POST' })).json()) as { id: string };
    await fetch(`${shopUrl}/carts/${cart.id}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ productId: 1, quantity: 1 }) });
    const res = await fetch(`${shopUrl}/carts/${cart.id}/checkout`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect(res.headers.get('x-request-id')).toBe(ids.requestId);
    await res.arrayBuffer();
    return res.status;
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver(0, (line: string) => notifications.push(line));
    const [wkPort, shopPort, paymentsPort] = [await freePort(), await freePort(), await freePort()];
    shopUrl = `http://127.0.0.1:${shopPort}`;
    const paymentsUrl = `http://127.0.0.1:${paymentsPort}`;
    const configPath = writeDemoConfig({ dir, shopTarget: `127.0.0.1:${shopPort}`, paymentsTarget: `127.0.0.1:${paymentsPort}`, webhookUrl: receiver.url, speedup: 30, scrapeIntervalMs: 2000 });
    wk = await startWatchkeeper({ args: ['--config', configPath], port: wkPort });
    const env = { WATCHKEEPER_URL: wk.url, LOG_LEVEL: 'info' };
    services.push(startService('payments', ['payments.mjs'], { ...env, PORT: String(paymentsPort) }));
    services.push(startService('shop', ['shop.mjs'], { ...env, PORT: String(shopPort), PAYMENTS_URL: paymentsUrl, WATCHKEEPER_DSN: demoDsn(wk.url) }));
    for (const url of [`${shopUrl}/healthz/ready`, `${paymentsUrl}/healthz/ready`]) await waitFor(`${url} to answer 200`, async () => ((await fetch(url)).ok ? true : undefined), 20_000);

    // Before the traffic's outage: the payment service answers, so the trace reaches it.
    // The card the payment service never declines at random.
    checkout.status = await checkoutOnce(checkout, { card: '4000000000000077' });
    bug.status = await checkoutOnce(bug, { coupon: 'SUMMER23' });
    services.push(startService('traffic', ['traffic.mjs', '--shop', shopUrl, '--payments', paymentsUrl, '--rate', '6', '--first-normal', '3s', '--outage', '10s', '--recovery', '60s', '--cycles', '1'], {}));
    alertsPoller = setInterval(() => {
      getJson<Alerts>(`${wk.url}/api/v1/alerts`).then(
        (r) => (firingAlert ??= r.data.alerts.find((a) => a.labels.alertname === 'PaymentCircuitOpen' && a.state === 'firing')),
        () => undefined,
      );
    }, 500);
  });

  afterAll(async () => {
    clearInterval(alertsPoller);
    for (const s of services) s.proc.kill('SIGTERM');
    await Promise.all(services.map((s) => Promise.race([s.exited, new Promise((r) => setTimeout(r, 10_000))])));
    for (const s of services) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
    await wk?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies the example rules verbatim from the shared examples', (ctx) => {
    if (!existsSync(SHARED_RULES)) return ctx.skip(`${SHARED_RULES} is absent: nothing to compare the copy with`);
    expect(readFileSync(resolve(SHOP_DIR, 'rules.yml'), 'utf8')).toBe(readFileSync(SHARED_RULES, 'utf8'));
  });

  it('serves the checkout and fails on the expired coupon', () => {
    expect(checkout.status).toBe(201);
    expect(bug.status).toBe(500);
  });

  it('is scraped: RED metrics by route and the business metrics the example rules use', async () => {
    const expectedRoutes = ['/carts', '/carts/:id/checkout', '/carts/:id/items', '/products', '/products/:id'];
    // Scrapes of the two services are not simultaneous: poll until every series is there, then check.
    const seen = await waitFor('every series to be scraped from both services', async () => {
      const snapshot = {
        routes: (await query('sum by (route) (http_requests_total{job="shop"})')).map((s) => s.metric.route ?? ''),
        serverErrors: await firstValue('sum(http_requests_total{job="shop",route="/carts/:id/checkout",status="500"})'),
        buckets: await firstValue('count(http_request_duration_seconds_bucket{job="shop"})'),
        charges: await firstValue('sum(http_requests_total{job="payments",route="/charges"})'),
        orders: await firstValue('sum(orders_total{job="shop"})'),
        payments: await firstValue('sum(payments_total{job="shop",outcome="success"})'),
        paidCheckouts: await firstValue('sum(checkout_duration_seconds_count{job="shop",outcome="paid"})'),
        queues: (await query('worker_queue_depth{job="shop"}')).map((s) => s.metric.queue).sort(),
        breaker: await query('payment_circuit_breaker_state{job="shop",provider="acmepay"}'),
        doubleBookings: await firstValue('bookings_double_booking_detected_total{job="shop"}'),
        up: await query('up{job=~"shop|payments"} == 1'),
      };
      return expectedRoutes.every((r) => snapshot.routes.includes(r)) && Object.values(snapshot).every((v) => v !== undefined) && snapshot.up.length === 2 ? snapshot : undefined;
    }, 30_000);
    expect(seen.routes.every((r) => !/[0-9a-f]{8}-/.test(r))).toBe(true);
    expect(seen.serverErrors).toBeGreaterThanOrEqual(1);
    expect(seen.buckets).toBeGreaterThan(10);
    expect(seen.charges).toBeGreaterThan(0);
    expect(seen.orders).toBeGreaterThan(0);
    expect(seen.payments).toBeGreaterThan(0);
    expect(seen.paidCheckouts).toBeGreaterThan(0);
    expect(seen.queues).toEqual(['fulfilment', 'payment-retry']);
    expect(seen.breaker).toHaveLength(1);
    expect(seen.doubleBookings).toBe(0);
  });

  it('ships logs that a LogQL query finds by request id, in both services', async () => {
    type Streams = { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } };
    const lines = async (logql: string) =>
      (await getJson<Streams>(`${wk.url}/loki/api/v1/query_range?${new URLSearchParams({ query: logql, limit: '100' })}`)).data.result.flatMap((s) => s.values.map((v) => v[1]));
    await waitFor('the checkout\'s log line', async () => ((await lines(`{service_name="shop"} | request_id="${checkout.requestId}"`)).includes('order placed and paid') ? true : undefined), 20_000);
    // The shop passes its request id to the payment service, whose log lines carry it too.
    await waitFor('the payment service log line', async () => ((await lines(`{service_name="payments"} | request_id="${checkout.requestId}"`)).includes('charge succeeded') ? true : undefined), 20_000);
    expect(await lines(`{service_name="shop"} | level="error" | request_id="${bug.requestId}"`)).toContain('request failed with an unexpected error');
  });

  it('exports one trace spanning the shop and the payment service, fetched by id', async () => {
    type Batches = { batches: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { spanId: string; parentSpanId?: string; kind: number; name: string }[] }[] }[] };
    const trace = await waitFor('the checkout trace in both services', async () => {
      const t = await getJson<Batches>(`${wk.url}/api/traces/${checkout.traceId}`);
      const services = new Set(t.batches.map((b) => b.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue));
      return services.has('shop') && services.has('payments') ? t : undefined;
    }, 20_000);
    const spans = (service: string) =>
      trace.batches.filter((b) => b.resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === service)).flatMap((b) => b.scopeSpans.flatMap((s) => s.spans));
    const SERVER = 2;
    const CLIENT = 3;
    const shopServer = spans('shop').find((s) => s.kind === SERVER);
    expect(shopServer?.name).toBe('POST /carts/:id/checkout');
    const paymentsServer = spans('payments').find((s) => s.kind === SERVER);
    const shopClient = spans('shop').find((s) => s.kind === CLIENT && s.spanId === paymentsServer?.parentSpanId);
    expect(shopClient).toBeDefined();
    const summary = await getJson<{ services: string[]; requestIds: string[] }>(`${wk.url}/api/tracing/traces/${checkout.traceId}/summary`);
    expect(summary.requestIds).toContain(checkout.requestId);
  });

  it('groups the coupon bug into an error issue whose events carry the trace id and request id', async () => {
    type Issues = { data: { issues: { id: string; title: string; level: string }[] } };
    type Events = { data: { events: { traceId: string; tags: Record<string, string> }[] } };
    const issue = await waitFor('the TypeError issue', async () => (await getJson<Issues>(`${wk.url}/api/v1/issues?project=shop&query=TypeError`)).data.issues.find((i) => i.title.startsWith('TypeError')), 20_000);
    expect(issue.title).toContain("reading 'percent'");
    const events = (await getJson<Events>(`${wk.url}/api/v1/issues/${issue.id}/events?limit=1000`)).data.events;
    const ours = events.find((e) => e.traceId === bug.traceId);
    expect(ours?.tags.request_id).toBe(bug.requestId);
  });

  it('fires PaymentCircuitOpen during the payment outage, notifies the webhook, and resolves after it', async () => {
    const firing = await waitFor('PaymentCircuitOpen to fire', async () => firingAlert, 45_000);
    expect(firing.labels).toMatchObject({ job: 'shop', provider: 'acmepay', severity: 'warning' });
    await waitFor('the FIRING notification', async () => (notifications.some((l) => /FIRING +PaymentCircuitOpen \(warning\) job=shop provider=acmepay/.test(l)) ? true : undefined), 15_000);
    await waitFor('the RESOLVED notification', async () => (notifications.some((l) => /RESOLVED PaymentCircuitOpen/.test(l)) ? true : undefined), 45_000);
    expect(notifications.find((l) => l.includes('PaymentCircuitOpen'))).toMatch(/^\[alert → team\]/);
  });
});
