import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorReporter, type ErrorReporterOptions } from './error-reporter.js';
import { eventEnvelope, parseDsn } from './envelope-sender.js';
import { parseStack } from './event.js';
import { scrub, scrubUrl, sensitiveKeyMatcher } from './scrub.js';

let server: Server;
let port = 0;
const bodies: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(gunzipSync(Buffer.concat(chunks)).toString());
      res.writeHead(req.url === '/api/9/envelope/' ? 400 : 200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function reporter(over: Partial<ErrorReporterOptions> = {}): { r: ErrorReporter; drops: Record<string, number> } {
  const drops: Record<string, number> = {};
  const r = new ErrorReporter({
    dsn: `http://abc@127.0.0.1:${port}/1`,
    service: 'unit',
    version: '1.0.0',
    environment: 'test',
    sampleRate: 1,
    maxQueueSize: 10,
    maxBreadcrumbs: 3,
    onDrop: (reason, n) => (drops[reason] = (drops[reason] ?? 0) + n),
    onInternalError: (e) => {
      throw e;
    },
    ...over,
  });
  return { r, drops };
}

const lastEvent = () => JSON.parse(bodies.at(-1)!.split('\n')[2]!) as Record<string, unknown>;

describe('ErrorReporter', () => {
  it('sends an envelope per the spec: envelope header, item header with the payload length, payload', async () => {
    const { r } = reporter();
    const id = r.captureMessage('hello');
    expect(await r.flush(5000)).toBe(true);
    const [header, item, payload] = bodies.at(-1)!.split('\n');
    expect(JSON.parse(header!)).toMatchObject({ event_id: id, dsn: `http://abc@127.0.0.1:${port}/1` });
    expect(JSON.parse(item!)).toEqual({ type: 'event', length: Buffer.byteLength(payload!), content_type: 'application/json' });
    expect(JSON.parse(payload!)).toMatchObject({ event_id: id, message: { formatted: 'hello' }, level: 'info', release: '1.0.0', environment: 'test' });
  });

  it('keeps only the newest breadcrumbs and attaches tags and user', async () => {
    const { r } = reporter();
    for (let i = 0; i < 5; i++) r.addBreadcrumb({ category: 'test', message: `crumb ${i}` });
    r.setTag('region', 'eu');
    r.setUser({ id: '7' });
    r.captureException(new Error('with context'));
    await r.flush(5000);
    const e = lastEvent();
    expect((e.breadcrumbs as { values: { message: string }[] }).values.map((b) => b.message)).toEqual(['crumb 2', 'crumb 3', 'crumb 4']);
    expect(e).toMatchObject({ tags: { region: 'eu' }, user: { id: '7' } });
  });

  it('drops with a counter: sampled out, ignored, beforeSend null, rejected by the server', async () => {
    const sampled = reporter({ sampleRate: 0 });
    expect(sampled.r.captureException(new Error('x'))).toBe('');
    expect(sampled.drops).toEqual({ sampled: 1 });
    const ignored = reporter({ ignoreErrors: ['ECONNRESET', /^Abort/] });
    ignored.r.captureException(new Error('socket ECONNRESET'));
    ignored.r.captureException(new Error('Aborted by user'));
    expect(ignored.drops).toEqual({ ignored: 2 });
    const vetoed = reporter({ beforeSend: (e) => (e.tags.drop ? null : { ...e, tags: { ...e.tags, seen: 'yes' } }) });
    expect(vetoed.r.captureMessage('dropped', { tags: { drop: '1' } })).toBe('');
    expect(vetoed.drops).toEqual({ before_send: 1 });
    vetoed.r.captureMessage('kept');
    await vetoed.r.flush(5000);
    expect(lastEvent().tags).toMatchObject({ seen: 'yes' });
    const rejected = reporter({ dsn: `http://abc@127.0.0.1:${port}/9` });
    rejected.r.captureMessage('refused');
    await rejected.r.flush(5000);
    expect(rejected.drops).toEqual({ rejected: 1 });
  });

  it('drops with a counter when its queue is full, and on close what could not be sent', async () => {
    const { r, drops } = reporter({ dsn: 'http://abc@127.0.0.1:1/1', maxQueueSize: 2 });
    for (let i = 0; i < 5; i++) r.captureMessage(`m${i}`);
    expect(drops.queue_full).toBe(3);
    await r.close(200);
    expect(drops.shutdown).toBe(2);
  });

  it('never throws for odd thrown values', () => {
    const { r } = reporter();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => r.captureException(cyclic)).not.toThrow();
    expect(() => r.captureException(undefined)).not.toThrow();
  });
});

describe('scrubbing', () => {
  const isSensitive = sensitiveKeyMatcher(['ssn']);
  it('filters default and configured keys at any depth, cycles cut', () => {
    const input: Record<string, unknown> = { headers: { Authorization: 'Bearer x', Cookie: 'a=b', 'X-Api-Key': 'k', accept: 'json' }, body: { user: 'ann', newPassword: 'p', auth_token: 't', ssn: '1' } };
    input.loop = input;
    expect(scrub(input, isSensitive)).toEqual({
      headers: { Authorization: '[Filtered]', Cookie: '[Filtered]', 'X-Api-Key': '[Filtered]', accept: 'json' },
      body: { user: 'ann', newPassword: '[Filtered]', auth_token: '[Filtered]', ssn: '[Filtered]' },
      loop: '[Truncated]',
    });
  });
  it('filters sensitive query parameters', () => {
    expect(scrubUrl('/login?user=ann&password=p&token=t', isSensitive)).toBe('/login?user=ann&password=%5BFiltered%5D&token=%5BFiltered%5D');
  });
});

describe('DSN, envelope and stack parsing', () => {
  it('parses DSNs with and without a path prefix, and rejects bad ones', () => {
    expect(parseDsn('https://key@errors.example.com/42')).toMatchObject({ publicKey: 'key', envelopeUrl: 'https://errors.example.com/api/42/envelope/' });
    expect(parseDsn('http://key@host:9090/sentry/7').envelopeUrl).toBe('http://host:9090/sentry/api/7/envelope/');
    expect(() => parseDsn('https://host/42')).toThrow(/public key/);
    expect(() => parseDsn('not a url')).toThrow(/not a URL/);
  });
  it('counts the payload length in bytes', () => {
    const env = eventEnvelope('e1', 'dsn', { message: 'é' });
    const [, item, payload] = env.split('\n');
    expect((JSON.parse(item!) as { length: number }).length).toBe(Buffer.byteLength(payload!));
  });
  it('parses V8 stacks oldest first, marking library frames', () => {
    const stack = ['Error: x', '    at inner (file:///app/src/a.js:3:9)', '    at async Router.handle (/app/node_modules/express/lib/router.js:10:2)', '    at node:internal/timers:581:17'].join('\n');
    expect(parseStack(stack)).toEqual([
      { filename: 'node:internal/timers', function: '<anonymous>', lineno: 581, colno: 17, in_app: false },
      { filename: '/app/node_modules/express/lib/router.js', function: 'Router.handle', lineno: 10, colno: 2, in_app: false },
      { filename: '/app/src/a.js', function: 'inner', lineno: 3, colno: 9, in_app: true },
    ]);
  });
});
