/**
 * The LogStore contract as a test suite any backend runs (the embedded DuckDB store now,
 * ClickHouse later): call describeLogStoreConformance with a factory of empty stores.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../src/model/labels.js';
import type { LogRecord } from '../../src/model/log-record.js';
import type { LogStore } from '../../src/storage/log-store.js';

const MS = 1_000_000n;

/** A log record at `timeMs` in stream {service_name=<service>} with overridable fields. */
export function logRecord(timeMs: number, over: Partial<LogRecord> = {}): LogRecord {
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

export interface LogStoreUnderTest {
  readonly logs: LogStore;
  close(): Promise<void>;
}

export function describeLogStoreConformance(name: string, create: () => Promise<LogStoreUnderTest>): void {
  describe(`LogStore conformance: ${name}`, () => {
    const open_: LogStoreUnderTest[] = [];
    afterEach(async () => {
      for (const s of open_.splice(0)) await s.close();
    });
    const open = async (): Promise<LogStore> => {
      const s = await create();
      open_.push(s);
      return s.logs;
    };
    const record = logRecord;

    it('stores lines and finds them by stream, request id, trace id, substring and level', async () => {
      const logs = await open();
      const t0 = 1_700_000_000_000;
      await Promise.all([
        logs.append([record(t0, { requestId: 'req-1', body: 'payment accepted' }), record(t0 + 1, { level: 'error', body: 'payment failed' })]),
        logs.append([record(t0 + 2, { service: 'cart', traceId: 'a'.repeat(32), body: 'cart updated' })]),
      ]);
      const range = { startNs: BigInt(t0) * MS, endNs: BigInt(t0 + 10) * MS };
      const all = await logs.select({ ...range, matchers: [], direction: 'forward', limit: 10 });
      expect(all.map((r) => r.body)).toEqual(['payment accepted', 'payment failed', 'cart updated']);
      expect(all[0]!.seq < all[1]!.seq).toBe(true);
      const shop = await logs.select({ ...range, matchers: [{ type: '=', name: 'service_name', value: 'shop' }], direction: 'backward', limit: 10 });
      expect(shop.map((r) => r.body)).toEqual(['payment failed', 'payment accepted']);
      const byReq = await logs.select({ ...range, matchers: [], fields: { requestId: 'req-1' }, direction: 'backward', limit: 10 });
      expect(byReq.map((r) => r.body)).toEqual(['payment accepted']);
      const byTrace = await logs.select({ ...range, matchers: [], fields: { traceId: 'a'.repeat(32) }, direction: 'backward', limit: 10 });
      expect(byTrace.map((r) => r.service)).toEqual(['cart']);
      const failed = await logs.select({ ...range, matchers: [], lineFilters: [{ op: 'contains', value: 'payment' }, { op: 'not_regex', value: 'acc.pted' }], direction: 'backward', limit: 10 });
      expect(failed.map((r) => r.body)).toEqual(['payment failed']);
      const errors = await logs.select({ ...range, matchers: [], fields: { level: 'error' }, direction: 'backward', limit: 10 });
      expect(errors).toHaveLength(1);
      expect(await logs.labelNames(range.startNs, range.endNs)).toEqual(['service_name']);
      expect(await logs.labelValues('service_name', range.startNs, range.endNs)).toEqual(['cart', 'shop']);
      const ctx = await logs.context(all[1]!.seq, 5, 5);
      expect(ctx.before.map((r) => r.body)).toEqual(['payment accepted']);
      expect(ctx.after).toEqual([]);
    });

    it('counts lines per stream, level and bucket with end-inclusive buckets', async () => {
      const logs = await open();
      const t0 = 1_700_000_000_000;
      await logs.append([record(t0 + 1), record(t0 + 1000), record(t0 + 1001, { level: 'error' }), record(t0 + 2500)]);
      const c = await logs.countBuckets({ originNs: BigInt(t0) * MS, widthNs: 1000n * MS, bucketCount: 3, matchers: [] });
      const cells = Array.from(c.bucket, (b, i) => `${b}:${c.level[i]}:${c.count[i]}`).sort();
      expect(cells).toEqual(['1:info:2', '2:error:1', '3:info:1']);
      const withBytes = await logs.countBuckets({ originNs: BigInt(t0) * MS, widthNs: 3000n * MS, bucketCount: 1, matchers: [], bytes: true, fields: { level: 'error' } });
      expect(Array.from(withBytes.bytes)).toEqual([Buffer.byteLength(`line at ${t0 + 1001}`)]);
    });

    it('returns the lines of one request id newest first, limited, and pages with after', async () => {
      const logs = await open();
      const t0 = 1_700_000_000_000;
      await logs.append([3, 1, 2, 5, 4].map((k) => record(t0 + k, { requestId: 'many', body: `r${k}` })));
      await logs.append([record(t0 + 6, { requestId: 'other', body: 'x' })]);
      const q = { startNs: 0n, endNs: 1n << 62n, matchers: [], fields: { requestId: 'many' }, direction: 'backward' as const, limit: 3 };
      const first = await logs.select(q);
      expect(first.map((r) => r.body)).toEqual(['r5', 'r4', 'r3']);
      const last = first[first.length - 1]!;
      const next = await logs.select({ ...q, after: { timeNs: last.timeNs, seq: last.seq } });
      expect(next.map((r) => r.body)).toEqual(['r2', 'r1']);
    });

    it('delivers committed lines of matching streams to tail subscribers until unsubscribed', async () => {
      const logs = await open();
      const seen: string[] = [];
      const stop = logs.tail([{ type: '=', name: 'service_name', value: 'shop' }], (rs) => seen.push(...rs.map((r) => r.body)));
      await logs.append([record(1_700_000_000_000, { body: 'a' }), record(1_700_000_000_001, { service: 'cart', body: 'b' })]);
      stop();
      await logs.append([record(1_700_000_000_002, { body: 'c' })]);
      expect(seen).toEqual(['a']);
    });

    it('keeps attributes, resource and ids of a record intact', async () => {
      const logs = await open();
      const r = record(1_700_000_000_000, { traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), requestId: 'rq', attributes: { n: 1, nested: { a: [1, 'x'] } }, resource: { 'service.name': 'shop', host: 'h1' } });
      await logs.append([r]);
      const [got] = await logs.select({ startNs: 0n, endNs: 1n << 62n, matchers: [], direction: 'forward', limit: 1 });
      expect(got).toMatchObject({ ...r, seq: expect.any(BigInt) });
    });
  });
}
