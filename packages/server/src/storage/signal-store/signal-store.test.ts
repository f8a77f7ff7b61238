import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../model/labels.js';
import type { LogRecord } from '../../model/log-record.js';
import { openSignalStore, type SignalStore } from './signal-store.js';
import { StoreOverloadedError } from './write-queue.js';

const logger = pino({ level: 'silent' });
const MS = 1_000_000n;
const DAY_MS = 86_400_000;

function record(timeMs: number, over: Partial<LogRecord> = {}): LogRecord {
  const service = over.service ?? 'shop';
  return {
    timeNs: BigInt(timeMs) * MS,
    observedNs: BigInt(timeMs) * MS,
    service,
    level: 'info',
    severityText: 'INFO',
    severity: 9,
    body: `line at ${timeMs}`,
    traceId: '',
    spanId: '',
    requestId: '',
    stream: labelsFromRecord({ service_name: service }),
    attributes: {},
    resource: { 'service.name': service },
    ...over,
  };
}

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

  it('stores lines and finds them by stream, request id, trace id, substring and level', async () => {
    const { store } = await open();
    const t0 = 1_700_000_000_000;
    await Promise.all([
      store.logs.append([record(t0, { requestId: 'req-1', body: 'payment accepted' }), record(t0 + 1, { level: 'error', body: 'payment failed' })]),
      store.logs.append([record(t0 + 2, { service: 'cart', traceId: 'a'.repeat(32), body: 'cart updated' })]),
    ]);
    const range = { startNs: BigInt(t0) * MS, endNs: BigInt(t0 + 10) * MS };
    const all = await store.logs.select({ ...range, matchers: [], direction: 'forward', limit: 10 });
    expect(all.map((r) => r.body)).toEqual(['payment accepted', 'payment failed', 'cart updated']);
    expect(all[0]!.seq < all[1]!.seq).toBe(true);
    const shop = await store.logs.select({ ...range, matchers: [{ type: '=', name: 'service_name', value: 'shop' }], direction: 'backward', limit: 10 });
    expect(shop.map((r) => r.body)).toEqual(['payment failed', 'payment accepted']);
    const byReq = await store.logs.select({ ...range, matchers: [], fields: { requestId: 'req-1' }, direction: 'backward', limit: 10 });
    expect(byReq.map((r) => r.body)).toEqual(['payment accepted']);
    const byTrace = await store.logs.select({ ...range, matchers: [], fields: { traceId: 'a'.repeat(32) }, direction: 'backward', limit: 10 });
    expect(byTrace.map((r) => r.service)).toEqual(['cart']);
    const failed = await store.logs.select({ ...range, matchers: [], lineFilters: [{ op: 'contains', value: 'payment' }, { op: 'not_regex', value: 'acc.pted' }], direction: 'backward', limit: 10 });
    expect(failed.map((r) => r.body)).toEqual(['payment failed']);
    const errors = await store.logs.select({ ...range, matchers: [], fields: { level: 'error' }, direction: 'backward', limit: 10 });
    expect(errors).toHaveLength(1);
    expect(await store.logs.labelNames(range.startNs, range.endNs)).toEqual(['service_name']);
    expect(await store.logs.labelValues('service_name', range.startNs, range.endNs)).toEqual(['cart', 'shop']);
    const ctx = await store.logs.context(all[1]!.seq, 5, 5);
    expect(ctx.before.map((r) => r.body)).toEqual(['payment accepted']);
    expect(ctx.after).toEqual([]);
  });

  it('counts lines per stream, level and bucket with end-inclusive buckets', async () => {
    const { store } = await open();
    const t0 = 1_700_000_000_000;
    await store.logs.append([record(t0 + 1), record(t0 + 1000), record(t0 + 1001, { level: 'error' }), record(t0 + 2500)]);
    const c = await store.logs.countBuckets({ originNs: BigInt(t0) * MS, widthNs: 1000n * MS, bucketCount: 3, matchers: [] });
    const cells = Array.from(c.bucket, (b, i) => `${b}:${c.level[i]}:${c.count[i]}`).sort();
    expect(cells).toEqual(['1:info:2', '2:error:1', '3:info:1']);
  });

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
