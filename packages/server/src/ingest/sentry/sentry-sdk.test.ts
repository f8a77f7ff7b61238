/**
 * The official @sentry/node SDK against the in-process server: what a team gets when it points
 * its DSN at Watchkeeper. Grouping, trace linking, scrubbing, release health, regressions, rate
 * limits the SDK honours, and gzip bodies are checked through the issues API and the store.
 */
import * as Sentry from '@sentry/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorsHarness, project, type ErrorsHarness } from '../../../test/support/errors-harness.js';

const SHOP_KEY = 'shopkey00000001';
const LIMITED_KEY = 'limitedkey00001';
const REGRESS_KEY = 'regresskey00001';

interface IssueJson {
  id: string;
  title: string;
  type: string;
  level: string;
  status: string;
  regressed: boolean;
  count: number;
  user_count: number;
  culprit: string;
}

function checkoutError(order: number): Error {
  return new Error(`checkout failed for order ${order}`, { cause: new TypeError(`card declined for order ${order}`) });
}

function paymentError(): Error {
  return new RangeError('amount out of range');
}

function scrubbedError(): Error {
  return new Error('scrub me');
}

function largeReportError(): Error {
  return new Error('large report');
}

function crashError(): Error {
  return new Error('fatal crash');
}

function regressionError(): Error {
  return new Error('inventory sync failed');
}

/** A separate SDK client (its own DSN, release and transport), as a second service would have. */
function sdkClient(dsn: string, release: string): { client: Sentry.NodeClient; scope: Sentry.Scope } {
  const client = new Sentry.NodeClient({
    dsn,
    release,
    environment: 'test',
    transport: Sentry.makeNodeTransport,
    stackParser: Sentry.defaultStackParser,
    integrations: [Sentry.linkedErrorsIntegration()],
    sendClientReports: false,
  });
  client.init();
  const scope = new Sentry.Scope();
  scope.setClient(client);
  return { client, scope };
}

describe('@sentry/node SDK → Watchkeeper', () => {
  let h: ErrorsHarness;
  const requests: { project: string; encoding: string; status: number }[] = [];
  let traceId = '';

  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${h.url}${path}`, init);
    const body = (await res.json()) as { status: string; data: T };
    expect(res.status, path).toBe(200);
    return body.data;
  };
  const issues = async (query: string): Promise<IssueJson[]> => (await api<{ issues: IssueJson[] }>(`/api/v1/issues?${query}`)).issues;

  beforeAll(async () => {
    h = await createErrorsHarness([
      project(1, 'shop', [SHOP_KEY]),
      project(2, 'limited', [LIMITED_KEY], { rate_limit_per_minute: 2 }),
      project(3, 'inventory', [REGRESS_KEY]),
    ]);
    h.app.addHook('onResponse', async (req, reply) => {
      const m = /^\/api\/(\d+)\/envelope\//.exec(req.url);
      if (m) requests.push({ project: m[1]!, encoding: String(req.headers['content-encoding'] ?? ''), status: reply.statusCode });
    });
    await h.listen();
    const port = new URL(h.url).port;
    Sentry.init({
      dsn: `http://${SHOP_KEY}@127.0.0.1:${port}/1`,
      release: 'shop@1.0.0',
      environment: 'test',
      tracesSampleRate: 1,
      // The server under test runs in this process: leave its own HTTP traffic uninstrumented.
      integrations: (defaults) => defaults.filter((i) => !['Http', 'NodeFetch', 'OnUncaughtException', 'OnUnhandledRejection', 'Console'].includes(i.name)),
      beforeSend(event) {
        if (event.tags?.with_request) {
          event.request = {
            url: 'http://shop.local/checkout?token=abc123&page=2',
            method: 'POST',
            headers: { Authorization: 'Bearer sekrit-bearer', Cookie: 'sid=cookie-value', 'Set-Cookie': 'sid=set-value', 'X-Api-Key': 'xapikey-value', Accept: 'text/html' },
            data: { password: 'hunter2', card: '4111 1111 1111 1111', item: 'socks' },
          };
        }
        if (event.tags?.crash) for (const e of event.exception?.values ?? []) e.mechanism = { type: 'test', handled: false };
        return event;
      },
    });
    Sentry.setUser({ id: 'user-1', email: 'user-1@example.com' });
    Sentry.setTag('area', 'checkout');
    Sentry.addBreadcrumb({ category: 'ui.click', message: 'clicked pay' });
    await Sentry.startSpan({ name: 'POST /checkout', op: 'http.server' }, async (span) => {
      traceId = span.spanContext().traceId;
      for (const order of [1001, 1002]) Sentry.captureException(checkoutError(order));
    });
    Sentry.captureException(paymentError());
    Sentry.captureMessage('cache miss for key 42', 'warning');
    Sentry.withScope((scope) => {
      scope.setTag('with_request', 'yes');
      scope.setExtra('api_key', 'extra-api-key');
      scope.setContext('payment', { token: 'tok_live_secret', amount: 12 });
      Sentry.captureException(scrubbedError());
    });
    // Above the SDK's 32 KB threshold: sent gzip-compressed.
    Sentry.captureException(largeReportError(), { extra: { report: 'lorem ipsum dolor sit amet '.repeat(2000) } });
    // Release health: one clean session, one that crashes.
    Sentry.startSession();
    Sentry.endSession();
    Sentry.startSession();
    Sentry.withScope((scope) => {
      scope.setTag('crash', 'yes');
      Sentry.captureException(crashError());
    });
    // Events are processed asynchronously; the session learns of the crash only once that is done.
    await Sentry.flush(5000);
    Sentry.endSession();
    expect(await Sentry.flush(10_000)).toBe(true);
  });

  afterAll(async () => {
    await Sentry.close(2000);
    await h.close();
  });

  it('groups the same error into one issue and a different error into another', async () => {
    const list = await issues('project=shop&sort=count');
    const checkout = list.find((i) => i.title.startsWith('Error: checkout failed'));
    // The SDK sends events concurrently, so either order's event may be the one that opened the issue.
    expect(checkout).toMatchObject({ title: expect.stringMatching(/^Error: checkout failed for order 100[12]$/), count: 2, user_count: 1, status: 'unresolved', level: 'error', type: 'Error' });
    expect(checkout!.culprit).toMatch(/checkoutError/);
    expect(list.find((i) => i.type === 'RangeError')).toMatchObject({ title: 'RangeError: amount out of range', count: 1 });
    expect(list.find((i) => i.title === 'cache miss for key 42')).toMatchObject({ level: 'warning', count: 1, type: '' });
    expect(list[0]!.id).toBe(checkout!.id);
    expect(await issues('project=shop&query=RANGEERROR')).toHaveLength(1);
    expect(await issues('project=shop&level=warning')).toHaveLength(1);
  });

  it('keeps the chain, breadcrumbs, tags, user, release and the trace context, and converts spans', async () => {
    const [checkout] = await issues('project=shop&query=checkout%20failed');
    const detail = await api<Record<string, any>>(`/api/v1/issues/${checkout!.id}`);
    const event = detail.latest_event;
    expect(event.exceptions.map((e: { type: string }) => e.type)).toEqual(['TypeError', 'Error']);
    expect(event.exceptions[1].frames.some((f: { function: string; inApp: boolean }) => f.function === 'checkoutError' && f.inApp)).toBe(true);
    expect(event.breadcrumbs.some((b: { message: string }) => b.message === 'clicked pay')).toBe(true);
    expect(event.tags.area).toBe('checkout');
    expect(event.user).toMatchObject({ id: 'user-1', email: 'user-1@example.com' });
    expect(event).toMatchObject({ release: 'shop@1.0.0', environment: 'test', platform: 'node', traceId });
    expect(event.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(detail.releases).toEqual([{ value: 'shop@1.0.0', count: 2 }]);
    expect(detail.tags.area).toEqual([{ value: 'checkout', count: 2 }]);
    expect(detail.hourly.counts.reduce((a: number, b: number) => a + b, 0)).toBe(2);
    const page1 = await api<{ events: { eventId: string }[]; next: string }>(`/api/v1/issues/${checkout!.id}/events?limit=1`);
    const page2 = await api<{ events: { eventId: string }[]; next: string | null }>(`/api/v1/issues/${checkout!.id}/events?limit=1&cursor=${page1.next}`);
    expect(page2.next).toBeNull();
    expect(new Set([page1.events[0]!.eventId, page2.events[0]!.eventId]).size).toBe(2);
    const spans = await h.traces.trace(traceId);
    expect(spans.find((s) => s.name === 'POST /checkout')).toMatchObject({ service: 'shop', parentSpanId: '' });
  });

  it('scrubs secrets before anything is stored', async () => {
    const [scrubbed] = await issues('project=shop&query=scrub%20me');
    const detail = await api<Record<string, any>>(`/api/v1/issues/${scrubbed!.id}`);
    const req = detail.latest_event.request;
    expect(req.headers).toMatchObject({ Authorization: '[Filtered]', Cookie: '[Filtered]', 'Set-Cookie': '[Filtered]', 'X-Api-Key': '[Filtered]', Accept: 'text/html' });
    expect(req.url).toBe('http://shop.local/checkout?token=[Filtered]&page=2');
    expect(req.data).toEqual({ password: '[Filtered]', card: '[Filtered]', item: 'socks' });
    expect(detail.latest_event.extra.api_key).toBe('[Filtered]');
    expect(detail.latest_event.contexts.payment).toEqual({ token: '[Filtered]', amount: 12 });
    const raw = (await h.rawPayloads()).join('\n');
    for (const secret of ['sekrit-bearer', 'cookie-value', 'set-value', 'xapikey-value', 'hunter2', '4111 1111 1111 1111', 'abc123', 'extra-api-key', 'tok_live_secret']) {
      expect(raw, secret).not.toContain(secret);
    }
  });

  it('accepts gzip bodies above 32 KB', async () => {
    expect(requests.some((r) => r.project === '1' && r.encoding === 'gzip' && r.status === 200)).toBe(true);
    const [large] = await issues('project=shop&query=large%20report');
    expect(large!.count).toBe(1);
  });

  it('counts release health from sessions', async () => {
    const releases = await api<{ release: string; sessions: Record<string, number>; crash_free_rate: number; event_count: number }[]>('/api/v1/releases?project=shop');
    const r = releases.find((x) => x.release === 'shop@1.0.0')!;
    expect(r.sessions.crashed).toBe(1);
    expect(r.sessions.started).toBeGreaterThanOrEqual(2);
    expect(r.sessions.exited + r.sessions.crashed + r.sessions.errored + r.sessions.abnormal).toBeLessThanOrEqual(r.sessions.started);
    expect(r.crash_free_rate).toBeCloseTo(1 - 1 / r.sessions.started, 6);
    expect(r.event_count).toBe(7);
  });

  it('reopens a resolved issue seen again in a newer release as a regression', async () => {
    const dsn = `http://${REGRESS_KEY}@127.0.0.1:${new URL(h.url).port}/3`;
    const capture = async (release: string): Promise<void> => {
      const { client, scope } = sdkClient(dsn, release);
      scope.captureException(regressionError());
      expect(await client.flush(5000)).toBe(true);
      await client.close();
    };
    await capture('inventory@1.0.0');
    const [issue] = await issues('project=inventory');
    expect(h.issueEvents.filter((e) => e.issue.id === Number(issue!.id)).map((e) => e.kind)).toEqual(['new']);
    await api(`/api/v1/issues/${issue!.id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'resolved' }) });
    await capture('inventory@1.1.0');
    let [after] = await issues('project=inventory');
    expect(after).toMatchObject({ id: issue!.id, status: 'unresolved', regressed: true, count: 2 });
    expect(h.issueEvents.filter((e) => e.issue.id === Number(issue!.id)).map((e) => e.kind)).toEqual(['new', 'regression']);
    // Resolved in 1.1.0: an event from an older deployment still running does not reopen it.
    await api(`/api/v1/issues/${issue!.id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'resolved' }) });
    await capture('inventory@1.0.0');
    [after] = await issues('project=inventory');
    expect(after).toMatchObject({ status: 'resolved', count: 3 });
  });

  it('answers over-limit events with 429 and X-Sentry-Rate-Limits, which the SDK honours', async () => {
    const { client, scope } = sdkClient(`http://${LIMITED_KEY}@127.0.0.1:${new URL(h.url).port}/2`, 'limited@1.0.0');
    for (let i = 0; i < 5; i++) {
      scope.captureException(new Error(`limited ${i}`));
      await client.flush(5000);
    }
    await client.close();
    const sent = requests.filter((r) => r.project === '2').map((r) => r.status);
    // Two accepted, one refused with the header; the SDK then keeps the other two to itself.
    expect(sent).toEqual([200, 200, 429]);
    expect((await issues('project=limited')).reduce((n, i) => n + i.count, 0)).toBe(2);
  });

  it('exports the error metrics', async () => {
    const text = await h.metrics.registry.metrics();
    expect(text).toMatch(/watchkeeper_error_events_total\{project="shop",level="error",environment="test",release="shop@1.0.0"\} \d+/);
    expect(text).toMatch(/watchkeeper_error_issues_new_total\{project="shop"\} [1-9]/);
    expect(text).toMatch(/watchkeeper_sentry_envelope_items_total\{project="shop",type="session"\} [1-9]/);
  });
});
