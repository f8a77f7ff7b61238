import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { toGroupedEvent } from '../../../errors/grouped-event.js';
import type { ErrorEvent } from '../../../model/error-event.js';
import type { GroupedEvent } from '../../error-store.js';
import { openSignalStore, type SignalStore } from '../signal-store.js';
import { DuckDBErrorStore } from './duckdb-error-store.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);
let seq = 0;

function grouped(fingerprint: string, over: Partial<ErrorEvent> = {}): GroupedEvent {
  const t = over.timestampMs ?? T0;
  const event: ErrorEvent = {
    eventId: (++seq).toString(16).padStart(32, '0'),
    projectId: 1,
    timestampMs: t,
    receivedMs: t,
    level: 'error',
    platform: 'node',
    logger: '',
    release: 'shop@1.0.0',
    environment: 'production',
    serverName: '',
    transaction: '',
    message: '',
    messageTemplate: '',
    messageParams: [],
    exceptions: [],
    tags: { region: 'eu' },
    user: { id: `u${seq % 3}`, email: '', username: '', ipAddress: '' },
    request: null,
    contexts: {},
    breadcrumbs: [],
    extra: {},
    sdk: null,
    fingerprint: [],
    traceId: '',
    spanId: '',
    ...over,
  };
  return toGroupedEvent(event, { fingerprint, components: [], title: `Error ${fingerprint}`, culprit: 'main(app)', type: 'Error' });
}

describe('DuckDBErrorStore', () => {
  const dirs: string[] = [];
  const open: SignalStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(dir?: string, now?: () => number): Promise<{ store: DuckDBErrorStore; signals: SignalStore; dir: string }> {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'wk-error-store-'));
    if (!dir) dirs.push(d);
    const signals = await openSignalStore({ dir: d, logger: pino({ level: 'silent' }), registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
    open.push(signals);
    return { store: await DuckDBErrorStore.open(signals, { retentionMs: 90 * 24 * HOUR, now }), signals, dir: d };
  }

  it('groups concurrent writes into one issue per fingerprint and keeps totals', async () => {
    const { store } = await start();
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(store.write({ events: [grouped('a', { timestampMs: T0 + i * 1000 }), grouped(i % 2 ? 'b' : 'c')], sessions: [] }));
    const outcomes = (await Promise.all(writes)).flat();
    expect(outcomes.filter((o) => o.kind === 'new').map((o) => o.issue.fingerprint).sort()).toEqual(['a', 'b', 'c']);
    const page = await store.listIssues({ sort: 'count', limit: 10, offset: 0 });
    expect(page.issues.map((i) => [i.fingerprint, i.count])).toEqual([
      ['a', 20],
      ['b', 10],
      ['c', 10],
    ]);
    expect(page.issues[0]).toMatchObject({ lastSeenMs: T0 + 19_000, firstSeenMs: T0, userCount: 3 });
  });

  it('restores issues, statuses and totals after a restart', async () => {
    const first = await start();
    const [o] = await first.store.write({ events: [grouped('x'), grouped('x', { release: 'shop@1.1.0', environment: 'staging', timestampMs: T0 + 1000 })], sessions: [] });
    await first.store.setStatus(o!.issue.id, { status: 'ignored', ignoreUntilCount: 5 }, T0 + HOUR);
    await first.signals.close();
    open.length = 0;
    const again = await start(first.dir);
    const issue = await again.store.issue(o!.issue.id);
    expect(issue).toMatchObject({ count: 2, status: 'ignored', ignoreUntilCount: 5, statusBaseCount: 2, lastRelease: 'shop@1.1.0' });
    const detail = await again.store.issueDetail(o!.issue.id, T0 + HOUR, 24);
    expect(detail!.releases).toEqual([
      { value: 'shop@1.0.0', count: 1 },
      { value: 'shop@1.1.0', count: 1 },
    ]);
    expect(detail!.environments.map((e) => e.value).sort()).toEqual(['production', 'staging']);
    expect(detail!.tags.region).toEqual([{ value: 'eu', count: 2 }]);
    const [next] = await again.store.write({ events: [grouped('x')], sessions: [] });
    expect(next!.issue.id).toBe(o!.issue.id);
  });

  it('applies the lifecycle: ignore until a count, resolve in next release, regression', async () => {
    const { store } = await start();
    const [o] = await store.write({ events: [grouped('r')], sessions: [] });
    const id = o!.issue.id;
    await store.setStatus(id, { status: 'ignored', ignoreUntilCount: 2 }, T0);
    await store.write({ events: [grouped('r'), grouped('r')], sessions: [] });
    expect((await store.issue(id))!.status).toBe('ignored');
    const [reopened] = await store.write({ events: [grouped('r')], sessions: [] });
    expect(reopened).toMatchObject({ kind: 'existing', issue: { status: 'unresolved', regressed: false } });

    await store.setStatus(id, { status: 'resolved_in_next_release' }, T0);
    const [same] = await store.write({ events: [grouped('r')], sessions: [] });
    expect(same!.issue.status).toBe('resolved_in_next_release');
    const [newer] = await store.write({ events: [grouped('r', { release: 'shop@1.0.1' })], sessions: [] });
    expect(newer).toMatchObject({ kind: 'regression', issue: { status: 'unresolved', regressed: true } });

    const resolved = await store.setStatus(id, { status: 'resolved' }, T0);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedRelease: 'shop@1.0.1', regressed: false });
    const [old] = await store.write({ events: [grouped('r', { release: 'shop@1.0.0' })], sessions: [] });
    expect(old!.kind).toBe('existing');
    const [noRelease] = await store.write({ events: [grouped('r', { release: '' })], sessions: [] });
    expect(noRelease!.kind).toBe('regression');
  });

  it('filters, searches, pages events and deletes issues', async () => {
    const { store } = await start();
    await store.write({
      events: [grouped('p', { level: 'warning', environment: 'staging' }), grouped('q', { release: 'shop@2.0.0', timestampMs: T0 + 5 }), grouped('q', { timestampMs: T0 + 7 })],
      sessions: [],
    });
    const ids = async (q: Partial<Parameters<DuckDBErrorStore['listIssues']>[0]>) =>
      (await store.listIssues({ sort: 'last_seen', limit: 10, offset: 0, ...q })).issues.map((i) => i.fingerprint);
    expect(await ids({})).toEqual(['q', 'p']);
    expect(await ids({ level: 'warning' })).toEqual(['p']);
    expect(await ids({ environment: 'staging' })).toEqual(['p']);
    expect(await ids({ release: 'shop@2.0.0' })).toEqual(['q']);
    expect(await ids({ text: 'error Q' })).toEqual(['q']);
    expect(await ids({ projectId: 2 })).toEqual([]);
    const q = (await store.listIssues({ sort: 'count', limit: 1, offset: 0 })).issues[0]!;
    const page1 = await store.issueEvents(q.id, 1);
    expect(page1.events[0]!.event.timestampMs).toBe(T0 + 7);
    const page2 = await store.issueEvents(q.id, 1, page1.next!);
    expect(page2.events[0]!.event.timestampMs).toBe(T0 + 5);
    expect(page2.next).toBeNull();
    expect(await store.deleteIssue(q.id)).toBe(true);
    expect(await store.deleteIssue(q.id)).toBe(false);
    expect(await ids({})).toEqual(['p']);
    expect((await store.issueEvents(q.id, 10)).events).toEqual([]);
  });

  it('reports release health and expires old data with its issues', async () => {
    let now = T0 + 100 * 24 * HOUR;
    const { store, signals } = await start(undefined, () => now);
    await store.write({
      events: [grouped('old', { timestampMs: T0 }), grouped('new', { timestampMs: now - HOUR, release: 'shop@1.1.0' })],
      sessions: [
        { projectId: 1, timestampMs: now - HOUR, release: 'shop@1.1.0', environment: 'production', started: 10, exited: 8, errored: 1, abnormal: 0, crashed: 1 },
      ],
    });
    let releases = await store.listReleases(1);
    expect(releases.map((r) => r.release)).toEqual(['shop@1.1.0', 'shop@1.0.0']);
    expect(releases[0]).toMatchObject({ eventCount: 1, newIssues: 1, crashFreeRate: 0.9, sessions: { started: 10, crashed: 1 } });
    await signals.runRetention();
    expect((await store.listIssues({ sort: 'count', limit: 10, offset: 0 })).issues.map((i) => i.fingerprint)).toEqual(['new']);
    releases = await store.listReleases();
    expect(releases.map((r) => r.release)).toEqual(['shop@1.1.0']);
    now += 200 * 24 * HOUR;
    await store.deleteBefore(now);
    expect((await store.listIssues({ sort: 'count', limit: 10, offset: 0 })).total).toBe(0);
  });
});
