import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLogStoreConformance, logRecord } from '../../../test/support/log-store-conformance.js';
import { ID_BLOCK_ROWS } from './id-block-filter.js';
import { openSignalStore, type SignalStore } from './signal-store.js';
import { hash53 } from './string-hash.js';
import { StoreOverloadedError } from './write-queue.js';

const logger = pino({ level: 'silent' });
const MS = 1_000_000n;
const DAY_MS = 86_400_000;

const record = logRecord;

describeLogStoreConformance('DuckDB signal store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-logstore-'));
  const store = await openSignalStore({ dir, logger, registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
  return {
    logs: store.logs,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('signal store: logs', () => {
  const dirs: string[] = [];
  const stores: SignalStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function open(dir?: string, extra: { now?: () => number; maxQueuedRows?: number } = {}): Promise<{ store: SignalStore; dir: string }> {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'wk-signals-'));
    if (!dir) dirs.push(d);
    const store = await openSignalStore({
      dir: d,
      logger,
      registry: new Registry(),
      retention: { logsMs: 7 * DAY_MS, tracesMs: 7 * DAY_MS, errorsMs: 90 * DAY_MS },
      retentionIntervalMs: 3_600_000,
      ...extra,
    });
    stores.push(store);
    return { store, dir: d };
  }

  it('keeps acknowledged lines across reopen and continues sequence numbers', async () => {
    const { store, dir } = await open();
    await store.logs.append([record(1_700_000_000_000)]);
    const before = await store.logs.select({ startNs: 0n, endNs: 1n << 62n, matchers: [], direction: 'forward', limit: 10 });
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const { store: again } = await open(dir);
    await again.logs.append([record(1_700_000_000_001)]);
    const after = await again.logs.select({ startNs: 0n, endNs: 1n << 62n, matchers: [{ type: '=', name: 'service_name', value: 'shop' }], direction: 'forward', limit: 10 });
    expect(after).toHaveLength(2);
    expect(after[1]!.seq > before[0]!.seq).toBe(true);
  });

  it('retention deletes lines older than the retention and nothing else', async () => {
    let nowMs = 1_700_000_000_000;
    const { store } = await open(undefined, { now: () => nowMs });
    await store.logs.append([record(nowMs - 8 * DAY_MS, { service: 'old' }), record(nowMs - 6 * DAY_MS), record(nowMs - 1000)]);
    await store.runRetention();
    const left = await store.logs.select({ startNs: 0n, endNs: 1n << 62n, matchers: [], direction: 'forward', limit: 10 });
    expect(left.map((r) => r.timeNs)).toEqual([BigInt(nowMs - 6 * DAY_MS) * MS, BigInt(nowMs - 1000) * MS]);
    expect(await store.logs.labelValues('service_name', 0n, 1n << 62n)).toEqual(['shop']);
    nowMs += 2 * DAY_MS;
    await store.runRetention();
    expect((await store.logs.stats()).lines).toBe(1);
  });

  it('reads levels implied by the severity number, stored ones, and none alike in selects, filters and counts', async () => {
    const { store } = await open();
    const t0 = 1_700_000_000_000;
    await store.logs.append([
      record(t0, { level: 'info', severity: 9 }),
      record(t0 + 1, { level: 'info', severity: 12 }),
      record(t0 + 2, { level: '', severity: 0, severityText: '' }),
      record(t0 + 3, { level: 'audit', severity: 0, severityText: 'AUDIT' }),
      record(t0 + 4, { level: '', severity: 9 }),
      record(t0 + 5, { level: 'fatal', severity: 24 }),
    ]);
    const range = { startNs: 0n, endNs: 1n << 62n, matchers: [], direction: 'forward' as const, limit: 10 };
    expect((await store.logs.select(range)).map((r) => r.level)).toEqual(['info', 'info', '', 'audit', '', 'fatal']);
    const timesOf = async (level: string) => (await store.logs.select({ ...range, fields: { level } })).map((r) => Number(r.timeNs / MS) - t0);
    expect(await timesOf('info')).toEqual([0, 1]);
    expect(await timesOf('')).toEqual([2, 4]);
    expect(await timesOf('audit')).toEqual([3]);
    expect(await timesOf('fatal')).toEqual([5]);
    const c = await store.logs.countBuckets({ originNs: BigInt(t0 - 1) * MS, widthNs: 1000n * MS, bucketCount: 1, matchers: [] });
    expect(Array.from(c.level, (l, i) => `${l}:${c.count[i]}`).sort()).toEqual([':2', 'audit:1', 'fatal:1', 'info:2']);
  });

  it('finds lines by request and trace id across id-filter blocks, after reopening, and with lost filters rebuilt', async () => {
    const { store, dir } = await open();
    const t0 = 1_700_000_000_000;
    const n = ID_BLOCK_ROWS + 1000;
    const lines = Array.from({ length: n }, (_, i) => record(t0 + i, { requestId: `req-${i}`, traceId: i % 2 === 0 ? `${i.toString(16).padStart(32, '0')}` : '' }));
    for (let i = 0; i < n; i += 10_000) await store.logs.append(lines.slice(i, i + 10_000));
    const range = { startNs: 0n, endNs: 1n << 62n, direction: 'forward' as const, limit: 10 };
    const byRequest = async (s: SignalStore, i: number) => (await s.logs.select({ ...range, matchers: [], fields: { requestId: `req-${i}` } })).map((r) => r.requestId);
    const probes = [0, 4242, ID_BLOCK_ROWS - 1, ID_BLOCK_ROWS, n - 1];
    for (const i of probes) expect(await byRequest(store, i)).toEqual([`req-${i}`]);
    expect(await byRequest(store, n + 5)).toEqual([]);
    const trace = (ID_BLOCK_ROWS + 2).toString(16).padStart(32, '0');
    expect((await store.logs.select({ ...range, matchers: [], fields: { traceId: trace } })).map((r) => r.requestId)).toEqual([`req-${ID_BLOCK_ROWS + 2}`]);
    const counted = await store.logs.countBuckets({ originNs: 0n, widthNs: 1n << 61n, bucketCount: 1, matchers: [], fields: { requestId: 'req-7' } });
    expect(Array.from(counted.count)).toEqual([1]);
    await store.close();
    stores.splice(stores.indexOf(store), 1);

    const { store: reopened } = await open(dir);
    for (const i of probes) expect(await byRequest(reopened, i)).toEqual([`req-${i}`]);
    await reopened.writes.exclusive((conn) => conn.run('DELETE FROM log_id_filters').then(() => undefined));
    await reopened.close();
    stores.splice(stores.indexOf(reopened), 1);

    const { store: rebuilt } = await open(dir);
    for (const i of probes) expect(await byRequest(rebuilt, i)).toEqual([`req-${i}`]);
    const stored = await rebuilt.reads.use(async (conn) => (await conn.runAndReadAll('SELECT block FROM log_id_filters')).getRows());
    expect(stored.map((r) => r[0])).toEqual([0n]);
  });

  it('retention drops the id filters of deleted blocks and keeps lookups of the rest', async () => {
    const nowMs = 1_700_000_000_000;
    const { store } = await open(undefined, { now: () => nowMs });
    const old = Array.from({ length: ID_BLOCK_ROWS }, (_, i) => record(nowMs - 8 * DAY_MS, { requestId: `old-${i}` }));
    await store.logs.append(old);
    await store.logs.append([record(nowMs, { requestId: 'new-1' })]);
    await store.runRetention();
    const blocks = await store.reads.use(async (conn) => (await conn.runAndReadAll('SELECT block FROM log_id_filters')).getRows());
    expect(blocks).toEqual([]);
    const range = { startNs: 0n, endNs: 1n << 62n, matchers: [], direction: 'forward' as const, limit: 10 };
    expect(await store.logs.select({ ...range, fields: { requestId: 'old-1' } })).toEqual([]);
    expect((await store.logs.select({ ...range, fields: { requestId: 'new-1' } })).map((r) => r.requestId)).toEqual(['new-1']);
  });

  it('keeps trace and span ids of every form exactly, binary or text, and filters by them', async () => {
    const { store: first, dir } = await open();
    const t0 = 1_700_000_000_000;
    const w3c = { traceId: 'f0e1d2c3b4a5968778695a4b3c2d1e0f', spanId: 'ffffffffffffffff' };
    const forms = [
      w3c,
      { traceId: '00000000000000000000000000000001', spanId: '8000000000000000' },
      { traceId: '00000000000000000000000000000000', spanId: '0000000000000000' },
      { traceId: '1234567890', spanId: '987654321' },
      { traceId: '', spanId: '' },
    ];
    await first.logs.append(forms.map((ids, i) => record(t0 + i, ids)));
    // A line as stored before the integer id columns existed: text ids, NULL integers (its id
    // filter block is rebuilt from the table on reopen).
    await first.writes.exclusive(async (conn) => {
      await conn.run(`INSERT INTO logs (seq, time_ns, observed_ns, stream_id, resource_id, severity, body, trace_id, span_id, trace_hash)
        SELECT 1000, time_ns + 1000000000, observed_ns, stream_id, resource_id, severity, 'old', 'abababababababababababababababab', 'cdcdcdcdcdcdcdcd', ${hash53('abababababababababababababababab')} FROM logs LIMIT 1`);
    });
    await first.close();
    stores.splice(stores.indexOf(first), 1);
    const { store } = await open(dir);
    const range = { startNs: 0n, endNs: 1n << 62n, matchers: [], direction: 'forward' as const, limit: 10 };
    const all = await store.logs.select(range);
    expect(all.map((r) => [r.traceId, r.spanId])).toEqual([...forms.map((f) => [f.traceId, f.spanId]), ['abababababababababababababababab', 'cdcdcdcdcdcdcdcd']]);
    const bodiesWhere = async (fields: { traceId?: string; spanId?: string }) => (await store.logs.select({ ...range, fields })).map((r) => Number(r.timeNs / MS) - t0);
    expect(await bodiesWhere({ traceId: w3c.traceId })).toEqual([0]);
    expect(await bodiesWhere({ spanId: w3c.spanId })).toEqual([0]);
    expect(await bodiesWhere({ spanId: '8000000000000000' })).toEqual([1]);
    expect(await bodiesWhere({ traceId: '1234567890', spanId: '987654321' })).toEqual([3]);
    expect(await bodiesWhere({ traceId: '' })).toEqual([4]);
    expect(await bodiesWhere({ spanId: '' })).toEqual([4]);
    expect(await bodiesWhere({ traceId: 'abababababababababababababababab' })).toEqual([1000]);
    expect(await bodiesWhere({ spanId: 'cdcdcdcdcdcdcdcd' })).toEqual([1000]);
  });

  it('answers overloaded when the queue is full and delivers committed lines to tail subscribers', async () => {
    const { store } = await open(undefined, { maxQueuedRows: 10 });
    const seen: string[] = [];
    const stop = store.logs.tail([{ type: '=', name: 'service_name', value: 'shop' }], (rs) => seen.push(...rs.map((r) => r.body)));
    const big = Array.from({ length: 8 }, (_, i) => record(1_700_000_000_000 + i));
    const first = store.logs.append(big);
    const second = store.logs.append(big);
    await expect(second).rejects.toBeInstanceOf(StoreOverloadedError);
    await first;
    await store.logs.append([record(1_700_000_000_100, { service: 'cart' })]);
    stop();
    expect(seen).toHaveLength(8);
  });
});
