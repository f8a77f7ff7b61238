import { cpSync, existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../model/labels.js';
import { STALE_NAN, isStaleNaN } from '../model/samples.js';
import { MemoryStorage, type MetricsStorage, type SeriesData } from '../storage/index.js';
import { HOUR, capturingLogger, tempDirs, testOptions } from '../../test/tsdb/support.js';
import { openTsdb } from './index.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

const MINUTE = 60_000;
const ALL = [{ name: '__name__', type: '=~' as const, value: '.+' }];

/**
 * Samples every `intervalMs` per series over [fromH, toH) hours: counters growing by small
 * integer steps, and gauges mixing integer levels with fractional readings.
 */
async function appendHours(stores: MetricsStorage[], fromH: number, toH: number, series = 30, intervalMs = MINUTE): Promise<void> {
  for (let h = fromH; h < toH; h++) {
    const apps = stores.map((s) => s.appender());
    for (let s = 0; s < series; s++) {
      const labels = labelsFromRecord({ __name__: s % 2 === 0 ? 'requests_total' : 'temperature', instance: `host-${s}`, job: 'node' });
      for (let t = h * HOUR; t < (h + 1) * HOUR; t += intervalMs) {
        const step = Math.floor(t / intervalMs);
        const v = s % 2 === 0 ? step * ((s % 5) + 1) + Math.floor(step / 7) : s % 3 === 0 ? Math.round(20 + Math.sin(step / 50) * 5) : 1000 + (step % 13);
        for (const a of apps) a.append(0, labels, t, v);
      }
    }
    for (const a of apps) await a.commit();
  }
}

function blockDirs(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^[0-9A-Z]{26}$/.test(n));
}

function plain(d: SeriesData[]): unknown {
  return d.map((s) => ({ labels: s.labels, t: [...s.timestamps], v: [...s.values] }));
}

async function expectSame(a: MetricsStorage, b: MetricsStorage, mint: number, maxt: number): Promise<void> {
  const h = { start: mint, end: maxt };
  expect(plain(await a.querier(mint, maxt).select(ALL, h))).toEqual(plain(await b.querier(mint, maxt).select(ALL, h)));
}

function metaOf(dir: string, name: string): { minTime: number; maxTime: number; compaction: { level: number } } {
  return JSON.parse(readFileSync(join(dir, name, 'meta.json'), 'utf8')) as { minTime: number; maxTime: number; compaction: { level: number } };
}

describe('TSDB blocks', () => {
  it('cuts the head into blocks, compacts them, and serves data across blocks and head', async () => {
    const dir = temp.make();
    let now = 0;
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 100 * HOUR, now: () => now }));
    const ref = new MemoryStorage();
    for (let h = 0; h < 12; h++) {
      await appendHours([db, ref], h, h + 1);
      now = (h + 1) * HOUR;
      await db.compact();
    }
    const names = blockDirs(dir);
    expect(names.length).toBeGreaterThan(0);
    // Adjacent 1h blocks were merged into larger ones.
    expect(names.some((n) => metaOf(dir, n).compaction.level > 1 && metaOf(dir, n).maxTime - metaOf(dir, n).minTime > HOUR)).toBe(true);
    const status = db.status(5);
    expect(status.minTime).toBeGreaterThanOrEqual(10 * HOUR);
    await expectSame(db, ref, 0, 12 * HOUR);
    await expectSame(db, ref, 2 * HOUR + 5 * MINUTE, 7 * HOUR + 30 * MINUTE);
    expect(await db.querier(0, HOUR).labelValues('instance', [])).toEqual(await ref.querier(0, HOUR).labelValues('instance', []));
    expect(await db.querier(0, 12 * HOUR).series([{ name: 'instance', type: '=', value: 'host-3' }])).toEqual([
      labelsFromRecord({ __name__: 'temperature', instance: 'host-3', job: 'node' }),
    ]);
    await db.close();
    const reopened = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 100 * HOUR }));
    await expectSame(reopened, ref, 0, 12 * HOUR);
    await reopened.close();
  });

  it('loses no acknowledged sample when appends run while the head is cut into blocks', async () => {
    const dir = temp.make();
    const ref = new MemoryStorage();
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 20 * HOUR }));
    await appendHours([db, ref], 0, 4);
    const cutting = db.compact();
    for (let m = 0; m < 60; m++) {
      const apps = [db.appender(), ref.appender()];
      for (let s = 0; s < 30; s++) {
        const labels = labelsFromRecord({ __name__: 'late', instance: `host-${s}` });
        for (const a of apps) a.append(0, labels, 4 * HOUR + m * MINUTE, m);
      }
      await Promise.all(apps.map((a) => a.commit()));
    }
    await cutting;
    expect(blockDirs(dir).length).toBeGreaterThan(0);
    await expectSame(db, ref, 0, 5 * HOUR);
    await db.close();
    const reopened = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 20 * HOUR }));
    await expectSame(reopened, ref, 0, 5 * HOUR);
    await reopened.close();
  });

  it('keeps staleness markers bit-exact through block cuts, out-of-order re-encoding and merges', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 100 * HOUR, outOfOrderWindowMs: HOUR }));
    const labels = labelsFromRecord({ __name__: 'stale_test' });
    for (let h = 0; h < 5; h++) {
      const app = db.appender();
      app.append(0, labels, h * HOUR + 10 * MINUTE, h);
      app.append(0, labels, h * HOUR + 20 * MINUTE, STALE_NAN);
      await app.commit();
      const late = db.appender();
      late.append(0, labels, h * HOUR + 15 * MINUTE, STALE_NAN);
      await late.commit();
      await db.compact();
    }
    expect(blockDirs(dir).length).toBeGreaterThan(0);
    const [d] = await db.querier(0, 5 * HOUR).select([{ name: '__name__', type: '=', value: 'stale_test' }], { start: 0, end: 5 * HOUR });
    expect(d!.timestamps.length).toBe(15);
    for (let i = 0; i < 15; i++) expect(isStaleNaN(d!.values[i]!)).toBe(i % 3 !== 0);
    await db.close();
  });

  it('measures compressed size per sample for regular data', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 1000 * HOUR }));
    await appendHours([db], 0, 8, 50, 15_000);
    await db.compact();
    let bytes = 0;
    let samples = 0;
    for (const n of blockDirs(dir)) {
      const meta = JSON.parse(readFileSync(join(dir, n, 'meta.json'), 'utf8')) as { chunksBytes: number; indexBytes: number; stats: { numSamples: number } };
      bytes += meta.chunksBytes + meta.indexBytes;
      samples += meta.stats.numSamples;
    }
    expect(samples).toBeGreaterThan(0);
    expect(bytes / samples).toBeLessThan(1.5);
    await db.close();
  });

  it('deletes blocks beyond retention by time and by size', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 4 * HOUR }));
    await appendHours([db], 0, 6);
    await db.compact();
    const before = blockDirs(dir).length;
    await appendHours([db], 6, 12);
    const before12 = db.querier(0, 3 * HOUR);
    await db.compact();
    const data = await db.querier(0, 3 * HOUR).select(ALL, { start: 0, end: 3 * HOUR });
    expect(data).toEqual([]);
    // A querier created before retention ran still reads the retired blocks...
    expect((await before12.select(ALL, { start: 0, end: 3 * HOUR })).length).toBeGreaterThan(0);
    // ...which the next maintenance run deletes.
    await db.compact();
    for (const n of blockDirs(dir)) expect(metaOf(dir, n).maxTime).toBeGreaterThan(12 * HOUR - 5 * HOUR);
    expect(before).toBeGreaterThan(0);
    await db.close();

    const sized = temp.make();
    const small = await openTsdb(testOptions(sized, { blockDurationMs: HOUR, retentionMs: 1000 * HOUR, retentionBytes: 1 }));
    await appendHours([small], 0, 6);
    await small.compact();
    await small.compact();
    expect(blockDirs(sized)).toEqual([]);
    await small.close();
  });

  it('deletes source blocks left behind by a crash after their merged block was written', async () => {
    const dir = temp.make();
    const ref = new MemoryStorage();
    const first = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 20 * HOUR }));
    await appendHours([first, ref], 0, 4);
    await first.compact();
    await first.close();
    const sources = blockDirs(dir);
    expect(sources.length).toBe(3);
    const saved = join(temp.make(), 'saved');
    for (const n of sources) cpSync(join(dir, n), join(saved, n), { recursive: true });
    // Longer retention allows 3h blocks: the three 1h blocks are merged.
    const second = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 100 * HOUR }));
    await second.compact();
    await second.close();
    expect(blockDirs(dir).length).toBe(1);
    for (const n of sources) cpSync(join(saved, n), join(dir, n), { recursive: true });
    const third = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 100 * HOUR }));
    expect(blockDirs(dir).length).toBe(1);
    await expectSame(third, ref, 0, 4 * HOUR);
    await third.close();
  });

  it('quarantines a block with a damaged index on open and keeps serving the rest', async () => {
    const dir = temp.make();
    const ref = new MemoryStorage();
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 20 * HOUR }));
    await appendHours([db, ref], 0, 4);
    await db.compact();
    await db.close();
    const names = blockDirs(dir).sort();
    expect(names.length).toBeGreaterThanOrEqual(2);
    const victim = names[0]!;
    const victimMeta = metaOf(dir, victim);
    const index = join(dir, victim, 'index');
    truncateSync(index, Math.floor(readFileSync(index).length / 2));
    const { logger, lines } = capturingLogger();
    const reopened = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, logger }));
    expect(lines.some((l) => l.level === 'error' && /corrupt block/.test(l.msg))).toBe(true);
    expect(existsSync(join(dir, `${victim}.corrupt`))).toBe(true);
    await expectSame(reopened, ref, victimMeta.maxTime, 4 * HOUR);
    await reopened.close();
  });

  it('quarantines a block whose chunk fails its checksum when read', async () => {
    const dir = temp.make();
    const ref = new MemoryStorage();
    const db = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, retentionMs: 20 * HOUR }));
    await appendHours([db, ref], 0, 4);
    await db.compact();
    await db.close();
    const victim = blockDirs(dir).sort()[0]!;
    const victimMeta = metaOf(dir, victim);
    const chunks = join(dir, victim, 'chunks');
    const buf = readFileSync(chunks);
    buf[buf.length >> 1] = buf[buf.length >> 1]! ^ 0x55;
    writeFileSync(chunks, buf);
    const { logger, lines } = capturingLogger();
    const reopened = await openTsdb(testOptions(dir, { blockDurationMs: HOUR, logger }));
    const got = await reopened.querier(0, 4 * HOUR).select(ALL, { start: 0, end: 4 * HOUR });
    expect(got.length).toBeGreaterThan(0);
    await expectSame(reopened, ref, victimMeta.maxTime, 4 * HOUR);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.some((l) => l.level === 'error' && /corrupt block/.test(l.msg))).toBe(true);
    expect(existsSync(join(dir, `${victim}.corrupt`))).toBe(true);
    await reopened.close();
  });
});
