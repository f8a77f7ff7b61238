import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { PrepareJob, Preparation } from './event-preparation.js';
import { ThreadUnavailableError } from '../threads/thread-pool.js';
import { InlinePreparer, PreparePool } from './prepare-pool.js';

const logger = pino({ level: 'silent' });
const EVENT_ID = '0123456789abcdef0123456789abcdef';

function job(body: string | Buffer, over: Partial<PrepareJob> = {}): PrepareJob {
  return {
    kind: 'envelope',
    body: typeof body === 'string' ? Buffer.from(body) : body,
    contentEncoding: undefined,
    maxDecodedBytes: 64 * 1024,
    projectId: 1,
    scrubFields: ['pin'],
    receivedMs: Date.UTC(2026, 10, 1),
    ...over,
  };
}

const event = {
  event_id: EVENT_ID,
  timestamp: Date.UTC(2026, 10, 1) / 1000,
  platform: 'node',
  exception: { values: [{ type: 'TypeError', value: 'x is undefined', stacktrace: { frames: [{ filename: 'app.js', function: 'main', lineno: 3, in_app: true }] } }] },
  request: { url: 'https://shop.example.com/cart?token=abc', headers: { Authorization: 'Bearer secret', Accept: 'text/html' } },
  extra: { pin: '1234', card: 'paid with 4111 1111 1111 1111' },
  tags: { region: 'eu' },
};
const envelope = (items: string[]): string => `${JSON.stringify({ event_id: EVENT_ID, dsn: 'http://key@localhost/1' })}\n${items.join('\n')}\n`;
const validEnvelope = envelope([
  '{"type":"event"}',
  JSON.stringify(event),
  '{"type":"session"}',
  '{"sid":"s1","init":true,"status":"ok","attrs":{"release":"shop@1.0.0"}}',
  '{"type":"client_report"}',
  '{"discarded_events":[]}',
]);

const standIn = new URL('./testdata/stand-in-prepare-worker.mjs', import.meta.url);

const pools: PreparePool[] = [];
afterAll(async () => {
  for (const p of pools) await p.close();
});

function pool(opts: Partial<ConstructorParameters<typeof PreparePool>[0]> = {}): PreparePool {
  const p = new PreparePool({ threads: 1, logger, ...opts });
  pools.push(p);
  return p;
}

describe('event preparation', () => {
  const inline = new InlinePreparer();

  it('prepares events with scrubbed payloads and passes other items through raw', async () => {
    const prepared = await inline.prepare(job(validEnvelope));
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(prepared.headers.event_id).toBe(EVENT_ID);
    expect(prepared.items.map((i) => [i.kind, i.type])).toEqual([
      ['event', 'event'],
      ['raw', 'session'],
      ['raw', 'client_report'],
    ]);
    const first = prepared.items[0]!;
    if (first.kind !== 'event') throw new Error('expected an event');
    expect(first.event.header).toMatchObject({ eventId: EVENT_ID, projectId: 1, platform: 'node', tagsJson: '{"region":"eu"}' });
    expect(first.event.title).toBe('TypeError: x is undefined');
    const { decodePayload } = await import('../storage/signal-store/errors/errors-payload.js');
    const stored = JSON.stringify(decodePayload(first.event.payload));
    for (const secret of ['Bearer secret', 'token=abc', '"1234"', '4111 1111']) expect(stored).not.toContain(secret);
    expect(stored).toContain('[Filtered]');
    const raw = prepared.items[1]!;
    if (raw.kind !== 'raw') throw new Error('expected a raw item');
    expect(JSON.parse(Buffer.from(raw.payload).toString()).sid).toBe('s1');
  });

  it('tells payload errors (always 400) from event errors (400 unless dropped) and body errors (with their status)', async () => {
    const bad = await inline.prepare(job(envelope(['{"type":"event"}', '[1,2]', '{"type":"event"}', '{"event_id":"nothex"}'])));
    expect(bad.ok && bad.items.map((i) => i.kind)).toEqual(['bad-payload', 'bad-event']);
    expect(await inline.prepare(job('{"broken'))).toMatchObject({ ok: false, status: 400, message: expect.stringContaining('envelope header') });
    expect(await inline.prepare(job('x', { contentEncoding: 'zstd' }))).toMatchObject({ ok: false, status: 415 });
    expect(await inline.prepare(job(gzipSync(Buffer.alloc(1 << 20)), { contentEncoding: 'gzip' }))).toMatchObject({ ok: false, status: 413 });
    expect(await inline.prepare(job('', { kind: 'store' }))).toMatchObject({ ok: false, status: 400, message: 'empty body: expected a JSON event' });
    const store = await inline.prepare(job(JSON.stringify(event), { kind: 'store' }));
    expect(store.ok && store.items.map((i) => i.kind)).toEqual(['event']);
  });

  it('answers every random or corrupted body with a result, never an exception', async () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const valid = Buffer.from(validEnvelope);
    for (let i = 0; i < 400; i++) {
      let body: Buffer;
      if (i % 4 === 0) body = Buffer.from(Array.from({ length: rand(300) }, () => rand(256)));
      else {
        body = Buffer.from(valid);
        for (let k = 0; k <= rand(4); k++) body[rand(body.length)] = rand(256);
        if (i % 4 === 1) body = body.subarray(0, rand(body.length));
      }
      const result = await inline.prepare(job(body, { kind: i % 5 === 0 ? 'store' : 'envelope', contentEncoding: i % 7 === 0 ? 'gzip' : undefined }));
      if (!result.ok) {
        expect([400, 413, 415]).toContain(result.status);
        expect(result.message).not.toBe('');
      } else {
        for (const item of result.items) expect(['event', 'bad-payload', 'bad-event', 'raw']).toContain(item.kind);
      }
    }
  });
});

describe('PreparePool', () => {
  it('prepares on a thread exactly as on the event loop', async () => {
    const threads = pool({ threads: 2 });
    const inline = new InlinePreparer();
    const jobs = [
      job(validEnvelope),
      job(gzipSync(validEnvelope), { contentEncoding: 'gzip' }),
      job(JSON.stringify(event), { kind: 'store' }),
      job(envelope(['{"type":"event"}', '{"level":5,"tags":7}'])),
      job('{"broken'),
    ];
    const results = await Promise.all(jobs.map((j) => threads.prepare(j)));
    for (let i = 0; i < jobs.length; i++) expect(results[i]).toEqual(await inline.prepare(jobs[i]!));
    expect(threads.pending).toBe(0);
  });

  it('leaves the caller’s body intact (the thread gets a copy)', async () => {
    const body = Buffer.from(validEnvelope);
    await pool().prepare(job(body));
    expect(body.toString()).toBe(validEnvelope);
  });

  it('fails only the jobs of a thread that dies, and replaces the thread on the next job', async () => {
    const p = pool({ worker: standIn });
    await expect(p.prepare(job('!'))).rejects.toBeInstanceOf(ThreadUnavailableError);
    const next: Preparation = await p.prepare(job('hello'));
    expect(next).toEqual({ ok: false, status: 400, message: 'fixture 5' });
    expect(p.pending).toBe(0);
  });

  it('sends each job to the thread with the fewest waiting', async () => {
    const p = pool({ threads: 2, worker: standIn });
    const stuck = p.prepare(job('?'));
    // The other thread is free, so these are answered although the first thread never answers.
    expect(await p.prepare(job('ab'))).toMatchObject({ message: 'fixture 2' });
    expect(await p.prepare(job('abc'))).toMatchObject({ message: 'fixture 3' });
    expect(p.pending).toBe(1);
    const stuckFails = expect(stuck).rejects.toThrow('closed');
    await p.close();
    await stuckFails;
  });

  it('refuses jobs after close', async () => {
    const p = pool({ worker: standIn });
    await p.close();
    await expect(p.prepare(job('x'))).rejects.toBeInstanceOf(ThreadUnavailableError);
  });

  it('rejects a thread count that is not a positive integer', () => {
    expect(() => new PreparePool({ threads: 0 })).toThrow(RangeError);
  });
});
