import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorsHarness, project, type ErrorsHarness } from '../../../test/support/errors-harness.js';
import { PreparePool } from '../../errors/prepare-pool.js';

const KEY = 'publickey0001';
const CRASH_MARKER = 'crash-this-preparation-thread';

const envelope = (id: string, message: string): string =>
  `{}\n{"type":"event"}\n${JSON.stringify({ event_id: id, message, exception: { values: [{ type: 'Error', value: message }] } })}\n`;

describe('Sentry routes when a preparation thread dies', () => {
  let h: ErrorsHarness;
  let pool: PreparePool;

  beforeAll(async () => {
    pool = new PreparePool({ threads: 1, logger: pino({ level: 'silent' }), worker: new URL('./testdata/crashing-prepare-worker.mjs', import.meta.url) });
    h = await createErrorsHarness([project(1, 'shop', [KEY])], { preparer: pool });
    await h.app.ready();
  });

  afterAll(async () => {
    await h.close();
    await pool.close();
  });

  const post = (body: string) => h.app.inject({ method: 'POST', url: `/api/1/envelope/?sentry_key=${KEY}`, payload: body, headers: { 'content-type': 'text/plain' } });

  it('answers the request it held with 503 and stores nothing, then serves the next request on a new thread', async () => {
    const crashed = await post(envelope('1'.repeat(32), CRASH_MARKER));
    expect(crashed.statusCode).toBe(503);
    expect(crashed.headers['x-sentry-error']).toMatch(/event preparation pool thread exited/);
    expect(await h.count('error_events')).toBe(0);

    const next = await post(envelope('2'.repeat(32), 'after the crash'));
    expect(next.statusCode).toBe(200);
    expect(next.json()).toEqual({ id: '2'.repeat(32) });
    expect(await h.count('error_events')).toBe(1);
    expect(pool.pending).toBe(0);
  });

  it('fails every request waiting on the dead thread, none left hanging', async () => {
    const waiting = [post(envelope('3'.repeat(32), 'queued before the crash')), post(envelope('4'.repeat(32), CRASH_MARKER))];
    const statuses = (await Promise.all(waiting)).map((r) => r.statusCode);
    // The first may be prepared before the thread dies; the crashing one never is.
    expect(statuses[1]).toBe(503);
    expect([200, 503]).toContain(statuses[0]);
    expect(await h.count('error_events')).toBe(statuses[0] === 200 ? 2 : 1);
    expect(pool.pending).toBe(0);
  });
});
