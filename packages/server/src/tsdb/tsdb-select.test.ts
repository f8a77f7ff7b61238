import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../model/labels.js';
import type { Matcher, MatchType } from '../model/matchers.js';
import { STALE_NAN } from '../model/samples.js';
import { AppendError, MemoryStorage, type MetricsStorage, type SeriesData } from '../storage/index.js';
import { openTsdb } from './index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), s | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3600_000;

async function open(dir: string | undefined, extra: Partial<Parameters<typeof openTsdb>[0]> = {}) {
  return openTsdb({
    dir,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    blockDurationMs: 2 * HOUR,
    retentionMs: 15 * 24 * HOUR,
    retentionBytes: 0,
    outOfOrderWindowMs: 0,
    walSegmentBytes: 1 << 20,
    maxLabelNameLength: 64,
    maxLabelValueLength: 128,
    maxLabelsPerSeries: 10,
    maxSeriesPerRequest: 100_000,
    ...extra,
  });
}

function randomLabelSets(r: () => number, n: number): Labels[] {
  const seen = new Set<string>();
  const out: Labels[] = [];
  while (out.length < n) {
    const rec: Record<string, string> = { __name__: `m${Math.floor(r() * 4)}`, job: ['a', 'b', 'api', 'bb'][Math.floor(r() * 4)]! };
    if (r() < 0.7) rec['instance'] = `i${Math.floor(r() * 10)}`;
    if (r() < 0.4) rec['env'] = r() < 0.5 ? 'prod' : 'dev';
    if (r() < 0.1) rec['x'] = 'y';
    const l = labelsFromRecord(rec);
    const k = JSON.stringify(l);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(l);
  }
  return out;
}

const MATCHER_POOL: [string, MatchType, string][] = [
  ['__name__', '=', 'm1'],
  ['__name__', '=~', 'm[01]'],
  ['__name__', '!=', 'm2'],
  ['job', '=', 'a'],
  ['job', '=~', 'a.*'],
  ['job', '=~', 'a|api|zz'],
  ['instance', '=~', 'i1|i3'],
  ['job', '!~', 'b+'],
  ['instance', '=', ''],
  ['instance', '!=', ''],
  ['instance', '=~', 'i1|i2|'],
  ['instance', '!~', 'i[0-4]'],
  ['env', '!=', 'prod'],
  ['env', '=~', ''],
  ['env', '=~', '.*'],
  ['env', '=~', '.+'],
  ['x', '=', 'y'],
  ['x', '!=', 'y'],
  ['nope', '=', ''],
  ['nope', '=', 'z'],
];

async function fill(stores: MetricsStorage[], sets: Labels[], r: () => number): Promise<void> {
  for (let batch = 0; batch < 3; batch++) {
    const apps = stores.map((s) => s.appender());
    for (const labels of sets) {
      const count = 1 + Math.floor(r() * 40);
      let t = batch * 10 * HOUR + Math.floor(r() * 1000);
      for (let i = 0; i < count; i++) {
        t += 1 + Math.floor(r() * 60_000);
        const v = r() < 0.05 ? STALE_NAN : Math.round(r() * 1000) / 10;
        for (const a of apps) a.append(0, labels, t, v);
      }
    }
    for (const a of apps) await a.commit();
  }
}

function plain(d: SeriesData[]): unknown {
  return d.map((s) => ({ labels: s.labels.map((l) => `${l.name}=${l.value}`).join(','), t: [...s.timestamps], v: [...s.values] }));
}

describe('TSDB selection against the brute-force reference', () => {
  for (const mode of ['memory', 'disk'] as const) {
    it(`selects the same series and samples (${mode})`, async () => {
      const dir = mode === 'disk' ? mkdtempSync(join(tmpdir(), 'wk-tsdb-')) : undefined;
      if (dir) dirs.push(dir);
      const r = rng(mode === 'memory' ? 7 : 11);
      const db = await open(dir);
      const ref = new MemoryStorage();
      await fill([db, ref], randomLabelSets(r, 300), r);
      // On disk, cut the older data into blocks so selection runs over blocks and head together.
      if (dir !== undefined) {
        await db.compact();
        expect(readdirSync(dir).filter((n) => /^[0-9A-Z]{26}$/.test(n)).length).toBeGreaterThan(0);
      }
      const ranges: [number, number][] = [
        [-Infinity, Infinity],
        [0, 12 * HOUR],
        [5 * HOUR, 21 * HOUR],
        [10 * HOUR + 60_000, 10 * HOUR + 600_000],
      ];
      for (let q = 0; q < 120; q++) {
        const k = 1 + Math.floor(r() * 3);
        const matchers: Matcher[] = [];
        for (let i = 0; i < k; i++) {
          const [name, type, value] = MATCHER_POOL[Math.floor(r() * MATCHER_POOL.length)]!;
          matchers.push({ name, type, value });
        }
        const [mint, maxt] = ranges[q % ranges.length]!;
        const hints = { start: mint, end: maxt };
        const got = await db.querier(mint, maxt).select(matchers, hints);
        const want = await ref.querier(mint, maxt).select(matchers, hints);
        expect(plain(got), JSON.stringify(matchers)).toEqual(plain(want));
        expect(await db.querier(mint, maxt).series(matchers)).toEqual(await ref.querier(mint, maxt).series(matchers));
        expect(await db.querier(mint, maxt).labelValues('instance', matchers)).toEqual(
          await ref.querier(mint, maxt).labelValues('instance', matchers),
        );
        expect(await db.querier(mint, maxt).labelNames(matchers)).toEqual(await ref.querier(mint, maxt).labelNames(matchers));
      }
      expect(await db.querier(-Infinity, Infinity).labelNames([])).toEqual(await ref.querier(-Infinity, Infinity).labelNames([]));
      await db.close();
    });
  }
});

describe('TSDB ingest rules', () => {
  it('rejects out-of-order, duplicate and invalid samples with coded errors, accepts identical duplicates', async () => {
    const db = await open(undefined);
    const l = labelsFromRecord({ __name__: 'up', job: 'a' });
    const app = db.appender();
    const ref = app.append(0, l, 1000, 1);
    expect(app.append(ref, l, 2000, 2)).toBe(ref);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return err instanceof AppendError ? err.code : 'other';
      }
      return undefined;
    };
    expect(code(() => app.append(ref, l, 1500, 3))).toBe('out_of_order');
    expect(code(() => app.append(ref, l, 2000, 3))).toBe('duplicate_sample_for_timestamp');
    expect(code(() => app.append(ref, l, 2000, 2))).toBeUndefined();
    expect(code(() => app.append(0, labelsFromRecord({ ['n'.repeat(65)]: 'v' }), 1, 1))).toBe('label_name_too_long');
    expect(code(() => app.append(0, labelsFromRecord({ a: 'v'.repeat(129) }), 1, 1))).toBe('label_value_too_long');
    expect(code(() => app.append(0, [{ name: 'b', value: '1' }, { name: 'a', value: '1' }], 1, 1))).toBe('invalid_labels');
    const many: Record<string, string> = {};
    for (let i = 0; i < 11; i++) many[`l${i}`] = 'v';
    expect(code(() => app.append(0, labelsFromRecord(many), 1, 1))).toBe('invalid_labels');
    await app.commit();
    const next = db.appender();
    expect(code(() => next.append(ref, l, 1999, 3))).toBe('out_of_order');
    await next.commit();
    const d = await db.querier(0, 10_000).select([{ name: 'job', type: '=', value: 'a' }], { start: 0, end: 10_000 });
    expect([...d[0]!.timestamps]).toEqual([1000, 2000]);
    await db.close();
  });

  it('rejects samples older than half a block before the newest sample (or the out-of-order window)', async () => {
    const db = await open(undefined);
    const first = db.appender();
    first.append(0, labelsFromRecord({ a: '1' }), 10 * HOUR, 1);
    await first.commit();
    const app = db.appender();
    expect(() => app.append(0, labelsFromRecord({ a: '2' }), 8 * HOUR, 1)).toThrow(/out of bounds/);
    app.append(0, labelsFromRecord({ a: '3' }), 9.5 * HOUR, 1);
    await app.commit();
    await db.close();
    const ooo = await open(undefined, { outOfOrderWindowMs: 2 * HOUR });
    const a1 = ooo.appender();
    a1.append(0, labelsFromRecord({ a: '1' }), 10 * HOUR, 1);
    await a1.commit();
    const a2 = ooo.appender();
    a2.append(0, labelsFromRecord({ a: '2' }), 8.5 * HOUR, 1);
    expect(() => a2.append(0, labelsFromRecord({ a: '3' }), 7 * HOUR, 1)).toThrow(/too old/);
    await a2.commit();
    expect(await ooo.querier(0, 11 * HOUR).labelValues('a', [{ name: 'a', type: '=~', value: '.+' }])).toEqual(['1', '2']);
    await ooo.close();
  });

  it('limits series per request', async () => {
    const db = await open(undefined, { maxSeriesPerRequest: 2 });
    const app = db.appender();
    app.append(0, labelsFromRecord({ a: '1' }), 1, 1);
    app.append(0, labelsFromRecord({ a: '2' }), 1, 1);
    app.append(0, labelsFromRecord({ a: '1' }), 2, 1);
    expect(() => app.append(0, labelsFromRecord({ a: '3' }), 1, 1)).toThrow(/too many series/);
    await app.commit();
    await db.close();
  });

  it('accepts out-of-order samples inside the window and merges them in queries', async () => {
    const db = await open(undefined, { outOfOrderWindowMs: 10_000 });
    const l = labelsFromRecord({ __name__: 'ooo' });
    const app = db.appender();
    app.append(0, l, 20_000, 20);
    app.append(0, l, 30_000, 30);
    await app.commit();
    const app2 = db.appender();
    app2.append(0, l, 25_000, 25);
    expect(() => app2.append(0, l, 30_000, 31)).toThrow(/duplicate/);
    expect(() => app2.append(0, l, 5_000, 5)).toThrow(/too old/);
    await app2.commit();
    const d = await db.querier(0, 100_000).select([{ name: '__name__', type: '=', value: 'ooo' }], { start: 0, end: 100_000 });
    expect([...d[0]!.timestamps]).toEqual([20_000, 25_000, 30_000]);
    expect([...d[0]!.values]).toEqual([20, 25, 30]);
    await db.close();
  });

  it('keeps metadata and reports head status', async () => {
    const db = await open(undefined);
    const app = db.appender();
    app.append(0, labelsFromRecord({ __name__: 'a', job: 'x' }), 1, 1);
    app.append(0, labelsFromRecord({ __name__: 'a', job: 'y' }), 1, 1);
    app.append(0, labelsFromRecord({ __name__: 'b', job: 'x' }), 5, 1);
    app.updateMetadata('a', { type: 'counter', help: 'A help', unit: '' });
    await app.commit();
    expect(db.metadata()).toEqual(new Map([['a', [{ type: 'counter', help: 'A help', unit: '' }]]]));
    const st = db.status(10);
    expect(st.numSeries).toBe(3);
    expect(st.minTime).toBe(1);
    expect(st.maxTime).toBe(5);
    expect(st.seriesCountByMetricName[0]).toEqual({ name: 'a', value: 2 });
    expect(st.labelValueCountByLabelName).toContainEqual({ name: 'job', value: 2 });
    expect(st.seriesCountByLabelValuePair).toContainEqual({ name: 'job=x', value: 2 });
    await db.close();
  });
});
