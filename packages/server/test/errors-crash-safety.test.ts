/**
 * Crash safety of the Sentry route as `watchkeeper start` runs it. Error events are acknowledged
 * once the signal store's journal has them; DuckDB receives them up to 100 ms later, and nothing
 * reads in between here, so a SIGKILL right after the last acknowledgement usually leaves some in
 * the journal alone. After a restart every acknowledged event is stored once, in the right issue.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWatchkeeper, tempDir, type RunningProcess } from './support/watchkeeper-process.js';

const KEY = '0123456789abcdef0123456789abcdef';
const EVENTS = 120;
const TYPES = ['CartError', 'PaymentError', 'StockError'];

function envelope(eventId: string, type: string): string {
  const event = {
    event_id: eventId,
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: 'error',
    release: 'shop@1.0.0',
    environment: 'production',
    exception: { values: [{ type, value: `failed for ${eventId}`, stacktrace: { frames: [{ filename: 'app/checkout.js', function: 'checkout', lineno: 42, in_app: true }] } }] },
  };
  return `${JSON.stringify({ event_id: eventId, sent_at: new Date().toISOString() })}\n{"type":"event"}\n${JSON.stringify(event)}\n`;
}

interface IssueList {
  data: { total: number; issues: { id: string; title: string; count: number }[] };
}

describe('error events across a SIGKILL', () => {
  const dir = tempDir('wk-errors-crash');
  const dataDir = join(dir, 'data');
  const configPath = join(dir, 'watchkeeper.yaml');
  let wk: RunningProcess | undefined;

  afterAll(async () => {
    await wk?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged event, once, in its issue', async () => {
    writeFileSync(configPath, ['server:', '  otlp_http: { enabled: false }', '  otlp_grpc: { enabled: false }', 'projects:', '  - id: 1', '    name: shop', `    keys: [${KEY}]`, ''].join('\n'));
    wk = await startWatchkeeper({ args: ['--config', configPath], dataDir });
    const sent = new Map<string, string>();
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < EVENTS) {
        const i = next++;
        const eventId = randomBytes(16).toString('hex');
        const type = TYPES[i % TYPES.length]!;
        const res = await fetch(`${wk!.url}/api/1/envelope/?sentry_key=${KEY}&sentry_version=7`, { method: 'POST', body: envelope(eventId, type) });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        sent.set(eventId, type);
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await wk.stop('SIGKILL');

    wk = await startWatchkeeper({ args: ['--config', configPath], dataDir });
    const list = (await (await fetch(`${wk.url}/api/v1/issues?project=1&limit=100`)).json()) as IssueList;
    expect(list.data.total).toBe(TYPES.length);
    expect(list.data.issues.reduce((n, i) => n + i.count, 0)).toBe(EVENTS);
    const stored = new Map<string, string>();
    for (const issue of list.data.issues) {
      const page = (await (await fetch(`${wk.url}/api/v1/issues/${issue.id}/events?limit=1000`)).json()) as { data: { events: { eventId: string }[] } };
      const type = TYPES.find((t) => issue.title.startsWith(t))!;
      for (const e of page.data.events) {
        expect(stored.has(e.eventId)).toBe(false);
        stored.set(e.eventId, type);
      }
    }
    expect(stored).toEqual(sent);
  });
});
