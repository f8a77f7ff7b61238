import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorsHarness, project, type ErrorsHarness } from '../../../test/support/errors-harness.js';

const KEY = 'publickey0001';
const OTHER_KEY = 'publickey0002';
const PROJECTS = [project(1, 'shop', [KEY, OTHER_KEY]), project(2, 'limited', ['limitedkey01'], { rate_limit_per_minute: 2 }), project(3, 'other', ['otherkey0001'])];

function eventPayload(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: 'a'.repeat(32),
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: 'error',
    release: 'shop@1.0.0',
    exception: { values: [{ type: 'Error', value: 'kaput', stacktrace: { frames: [{ filename: '/app/a.js', function: 'main', lineno: 3, in_app: true }] } }] },
    ...over,
  };
}

function envelope(items: [Record<string, unknown>, string | Record<string, unknown>][], header: Record<string, unknown> = {}): string {
  const lines = [JSON.stringify(header)];
  for (const [h, p] of items) {
    lines.push(JSON.stringify(h));
    lines.push(typeof p === 'string' ? p : JSON.stringify(p));
  }
  return `${lines.join('\n')}\n`;
}

const eventEnvelope = (over: Record<string, unknown> = {}): string => envelope([[{ type: 'event' }, eventPayload(over)]]);

describe('Sentry ingest routes', () => {
  let h: ErrorsHarness;
  let seq = 0;
  const nextId = (): string => (++seq).toString(16).padStart(32, '0');

  beforeAll(async () => {
    h = await createErrorsHarness(PROJECTS, { bodyLimitBytes: 256 * 1024, maxDecodedBytes: 512 * 1024 });
    await h.app.ready();
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url, payload, headers });
  const stored = async (): Promise<number[]> => [await h.count('error_events'), await h.count('error_issues'), await h.count('error_sessions')];

  describe('authentication', () => {
    it('takes the key from the query, X-Sentry-Auth or the envelope DSN', async () => {
      let res = await post(`/api/1/envelope/?sentry_key=${KEY}&sentry_version=7`, eventEnvelope({ event_id: nextId() }));
      expect(res.statusCode).toBe(200);
      res = await post('/api/1/envelope/', eventEnvelope({ event_id: nextId() }), { 'x-sentry-auth': `Sentry sentry_version=7, sentry_client=test/1, sentry_key=${OTHER_KEY}` });
      expect(res.statusCode).toBe(200);
      res = await post('/api/1/envelope/', envelope([[{ type: 'event' }, eventPayload({ event_id: nextId() })]], { dsn: `http://${KEY}@example.com/1` }));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ id: seq.toString(16).padStart(32, '0') });
    });

    it('refuses missing, wrong, revoked and misdirected keys and unknown projects, storing nothing', async () => {
      const before = await stored();
      const cases: [string, Record<string, string>, string, number, RegExp][] = [
        ['/api/1/envelope/', {}, eventEnvelope(), 401, /missing public key/],
        ['/api/1/envelope/?sentry_key=nope12345', {}, eventEnvelope(), 403, /not valid for project 1/],
        ['/api/3/envelope/', { 'x-sentry-auth': `Sentry sentry_key=${KEY}` }, eventEnvelope(), 403, /not valid for project 3/],
        ['/api/9/envelope/?sentry_key=' + KEY, {}, eventEnvelope(), 404, /project 9 does not exist/],
        ['/api/x/envelope/?sentry_key=' + KEY, {}, eventEnvelope(), 400, /invalid project id/],
        ['/api/1/envelope/', {}, envelope([[{ type: 'event' }, eventPayload()]], { dsn: `http://${KEY}@example.com/3` }), 403, /names project 3/],
        ['/api/1/store/', {}, JSON.stringify(eventPayload()), 401, /missing public key/],
      ];
      for (const [url, headers, body, status, message] of cases) {
        const res = await post(url, body, headers);
        expect(res.statusCode, url).toBe(status);
        expect(res.json().error, url).toMatch(message);
        expect(res.headers['x-sentry-error'], url).toMatch(message);
      }
      h.setProjects([project(1, 'shop', [OTHER_KEY]), ...PROJECTS.slice(1)]);
      try {
        const res = await post(`/api/1/envelope/?sentry_key=${KEY}`, eventEnvelope({ event_id: nextId() }));
        expect(res.statusCode).toBe(403);
      } finally {
        h.setProjects(PROJECTS);
      }
      expect(await stored()).toEqual(before);
    });
  });

  describe('bodies', () => {
    it('decodes gzip, zlib and raw deflate and brotli bodies, and the legacy store endpoint', async () => {
      const before = await h.count('error_events');
      const encodings: [string, (b: Buffer) => Buffer][] = [
        ['gzip', gzipSync],
        ['deflate', deflateSync],
        ['deflate', deflateRawSync],
        ['br', brotliCompressSync],
      ];
      for (const [name, fn] of encodings) {
        const res = await post(`/api/1/envelope/?sentry_key=${KEY}`, fn(Buffer.from(eventEnvelope({ event_id: nextId() }))), { 'content-encoding': name });
        expect(res.statusCode, name).toBe(200);
      }
      let res = await post(`/api/1/store/?sentry_key=${KEY}`, JSON.stringify(eventPayload({ event_id: nextId() })), { 'content-type': 'application/json' });
      expect(res.statusCode).toBe(200);
      res = await post(`/api/1/store/?sentry_key=${KEY}`, deflateSync(JSON.stringify(eventPayload({ event_id: nextId() }))).toString('base64'));
      expect(res.statusCode).toBe(200);
      expect(await h.count('error_events')).toBe(before + 6);
    });

    it('refuses compression bombs, oversized, corrupt and unknown encodings', async () => {
      const before = await stored();
      const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
      expect(bomb.length).toBeLessThan(256 * 1024);
      let res = await post(`/api/1/envelope/?sentry_key=${KEY}`, bomb, { 'content-encoding': 'gzip' });
      expect(res.statusCode).toBe(413);
      expect(res.json().error).toMatch(/larger than the limit of 524288 bytes/);
      res = await post(`/api/1/envelope/?sentry_key=${KEY}`, Buffer.alloc(300 * 1024, 0x20));
      expect(res.statusCode).toBe(413);
      res = await post(`/api/1/envelope/?sentry_key=${KEY}`, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/not valid gzip data/);
      res = await post(`/api/1/store/?sentry_key=${KEY}`, deflateSync(Buffer.alloc(2 * 1024 * 1024, 0x20)).toString('base64'));
      expect(res.statusCode).toBe(413);
      res = await post(`/api/1/envelope/?sentry_key=${KEY}`, eventEnvelope(), { 'content-encoding': 'zstd' });
      expect(res.statusCode).toBe(415);
      expect(await stored()).toEqual(before);
    });
  });

  describe('CORS', () => {
    it('answers preflights and exposes the rate-limit headers to browsers', async () => {
      const pre = await h.app.inject({
        method: 'OPTIONS',
        url: `/api/1/envelope/?sentry_key=${KEY}`,
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
      expect(pre.headers['access-control-allow-methods']).toContain('POST');
      expect(pre.headers['access-control-allow-headers']).toBe('content-type');
      const res = await post(`/api/1/envelope/?sentry_key=${KEY}`, eventEnvelope({ event_id: nextId() }), { origin: 'http://localhost:5173', 'content-type': 'text/plain;charset=UTF-8' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
      expect(res.headers['access-control-expose-headers']).toContain('x-sentry-rate-limits');
    });
  });

  describe('rate limits', () => {
    it('answers 429 with Retry-After and X-Sentry-Rate-Limits once the project is over its limit', async () => {
      const url = '/api/2/envelope/?sentry_key=limitedkey01';
      expect((await post(url, eventEnvelope({ event_id: nextId() }))).statusCode).toBe(200);
      expect((await post(url, eventEnvelope({ event_id: nextId() }))).statusCode).toBe(200);
      const res = await post(url, eventEnvelope({ event_id: nextId() }));
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(res.headers['x-sentry-rate-limits']).toMatch(/^\d+:error;default;transaction;security:project:project_quota$/);
      const sessionsBefore = await h.count('error_sessions');
      const eventsBefore = await h.count('error_events');
      const mixed = envelope([
        [{ type: 'event' }, eventPayload({ event_id: nextId() })],
        [{ type: 'session' }, { sid: 'x', init: true, status: 'ok', attrs: { release: 'limited@1' } }],
      ]);
      const partial = await post(url, mixed);
      expect(partial.statusCode).toBe(200);
      expect(partial.headers['x-sentry-rate-limits']).toBeDefined();
      expect(await h.count('error_sessions')).toBe(sessionsBefore + 1);
      expect(await h.count('error_events')).toBe(eventsBefore);
      // The store endpoint's body is one event, so an over-limit one is refused before it is read.
      const store = await post('/api/2/store/?sentry_key=limitedkey01', 'not json at all');
      expect(store.statusCode).toBe(429);
      expect(store.headers['x-sentry-rate-limits']).toBeDefined();
    });
  });

  describe('malformed envelopes', () => {
    const valid = eventPayload();
    const cases: [string, string | Buffer, RegExp][] = [
      ['empty body', '', /empty envelope/],
      ['header not JSON', '{nope\n{"type":"event"}\n{}\n', /envelope header \(line 1\) is not valid JSON/],
      ['header an array', '[1,2]\n{"type":"event"}\n{}\n', /envelope header \(line 1\) must be a JSON object/],
      ['item header not JSON', '{}\n{"type":\n{}\n', /item 1 header is not valid JSON/],
      ['item without type', '{}\n{"length":2}\n{}\n', /item 1 header has no "type"/],
      ['length past the end', '{}\n{"type":"event","length":500}\n{}\n', /declares 500 bytes but only/],
      ['negative length', '{}\n{"type":"event","length":-1}\n{}\n', /invalid "length"/],
      ['length not a number', '{}\n{"type":"event","length":"2"}\n{}\n', /invalid "length"/],
      ['no newline after a sized payload', '{}\n{"type":"event","length":2}\n{}X\n', /expected a newline after its 2-byte payload/],
      ['event payload not JSON', '{}\n{"type":"event"}\n{"exception":\n', /item 1 \(event\) payload is not valid JSON/],
      ['event payload an array', '{}\n{"type":"event"}\n[1]\n', /item 1 \(event\) payload must be a JSON object/],
      ['empty event payload', '{}\n{"type":"event","length":0}\n\n', /item 1 \(event\) has an empty payload/],
      ['invalid event id', envelope([[{ type: 'event' }, { ...valid, event_id: 'xyz' }]]), /"event_id" must be 32 hex digits/],
      ['exception of the wrong type', envelope([[{ type: 'event' }, { ...valid, exception: 5 }]]), /"exception" must be a list/],
      ['frames not a list', envelope([[{ type: 'event' }, { ...valid, exception: { values: [{ type: 'E', stacktrace: { frames: 3 } }] } }]]), /"stacktrace" must be an object with a "frames" list/],
      ['timestamp not a time', envelope([[{ type: 'event' }, { ...valid, timestamp: 'yesterday' }]]), /"timestamp" must be seconds/],
      ['tags a number', envelope([[{ type: 'event' }, { ...valid, tags: 7 }]]), /"tags" must be an object/],
      ['session without release', envelope([[{ type: 'session' }, { sid: 'a', init: true, status: 'ok' }]]), /"attrs.release" is required/],
      ['session with a bad status', envelope([[{ type: 'session' }, { sid: 'a', status: 'happy', attrs: { release: 'r' } }]]), /"status" must be ok, exited/],
      ['aggregates not a list', envelope([[{ type: 'sessions' }, { aggregates: 1, attrs: { release: 'r' } }]]), /"aggregates" must be a list/],
      ['transaction without trace context', envelope([[{ type: 'transaction' }, { transaction: 't', start_timestamp: 1, timestamp: 2 }]]), /needs contexts.trace/],
      ['a good event then a broken one', envelope([[{ type: 'event' }, eventPayload({ event_id: 'b'.repeat(32) })], [{ type: 'event' }, '{"broken"']]), /item 2 \(event\) payload is not valid JSON/],
      ['too many items', `{}\n${'{"type":"client_report"}\n{}\n'.repeat(1001)}`, /more than 1000 items/],
      ['store body not an object', '[]', /must be a JSON object|neither a JSON object/],
    ];

    it.each(cases)('%s → 400 with the reason, nothing stored', async (name, body, message) => {
      const before = await stored();
      const url = name.startsWith('store') ? `/api/1/store/?sentry_key=${KEY}` : `/api/1/envelope/?sentry_key=${KEY}`;
      const res = await post(url, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(message);
      expect(await stored()).toEqual(before);
    });

    it('survives random corruption of a valid envelope: 200 or 400, never stored on 400', async () => {
      const base = Buffer.from(
        envelope([
          [{ type: 'event' }, eventPayload({ tags: { a: 'b' }, breadcrumbs: [{ message: 'm' }] })],
          [{ type: 'session' }, { sid: 's', init: true, status: 'exited', attrs: { release: 'shop@1.0.0' } }],
        ]),
      );
      let rnd = 12345;
      const random = (n: number): number => {
        rnd = (rnd * 1103515245 + 12345) & 0x7fffffff;
        return rnd % n;
      };
      const started = Date.now();
      const statuses = new Set<number>();
      for (let i = 0; i < 200 && Date.now() - started < 8_000; i++) {
        const body = Buffer.from(base);
        const edits = 1 + random(4);
        for (let e = 0; e < edits; e++) body[random(body.length)] = random(256);
        const cut = random(3) === 0 ? body.subarray(0, random(body.length)) : body;
        const before = await stored();
        const res = await post(`/api/1/envelope/?sentry_key=${KEY}`, cut);
        statuses.add(res.statusCode);
        expect([200, 400]).toContain(res.statusCode);
        if (res.statusCode === 400) {
          expect(res.json().error).not.toBe('');
          expect(await stored()).toEqual(before);
        }
      }
      expect(statuses.has(400)).toBe(true);
    });
  });
});
