import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLogStoreConformance, logRecord } from '../../../test/support/log-store-conformance.js';
import { openSignalStore, type SignalStore } from './signal-store.js';
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
