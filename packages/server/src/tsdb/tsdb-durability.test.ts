import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../model/labels.js';
import { STALE_NAN, isStaleNaN } from '../model/samples.js';
import type { MetricsStorage } from '../storage/interfaces.js';
import { capturingLogger, tempDirs, testOptions } from '../../test/tsdb/support.js';
import { DirectoryLockedError, openTsdb } from './index.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

const ALL = [{ name: '__name__', type: '=~' as const, value: '.+' }];

async function appendBatch(db: MetricsStorage, batch: number, series = 20): Promise<void> {
  const app = db.appender();
  for (let s = 0; s < series; s++) {
    const labels = labelsFromRecord({ __name__: 'm', series: String(s) });
    for (let i = 0; i < 10; i++) app.append(0, labels, batch * 1000 + i * 10, i === 9 && s === 0 ? STALE_NAN : batch * 100 + i);
  }
  await app.commit();
}

async function readAll(db: MetricsStorage): Promise<Map<string, { t: number[]; v: Float64Array }>> {
  const out = new Map<string, { t: number[]; v: Float64Array }>();
  for (const d of await db.querier(-Infinity, Infinity).select(ALL, { start: -Infinity, end: Infinity })) {
    out.set(d.labels.map((l) => l.value).join('/'), { t: [...d.timestamps], v: d.values });
  }
  return out;
}

function expectBatches(data: Map<string, { t: number[]; v: Float64Array }>, batches: number[], series = 20): void {
  expect(data.size).toBe(series);
  for (let s = 0; s < series; s++) {
    const d = data.get(`m/${s}`)!;
    const want: number[] = [];
    for (const b of batches) for (let i = 0; i < 10; i++) want.push(b * 1000 + i * 10);
    expect(d.t).toEqual(want);
    for (let k = 0; k < batches.length; k++) {
      const v = d.v[k * 10 + 9]!;
      if (s === 0) expect(isStaleNaN(v)).toBe(true);
      else expect(v).toBe(batches[k]! * 100 + 9);
    }
  }
}

function segments(dir: string): string[] {
  return readdirSync(join(dir, 'wal'))
    .filter((n) => /^\d{8}$/.test(n))
    .sort();
}

// A store that is never closed stands for a crashed process: its WAL is left as it was.
describe('TSDB durability', () => {
  it('keeps every committed sample and metadata across close and reopen', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir));
    await appendBatch(db, 1);
    await appendBatch(db, 2);
    const app = db.appender();
    app.updateMetadata('m', { type: 'gauge', help: 'help text', unit: 'seconds' });
    await app.commit();
    await db.close();
    const again = await openTsdb(testOptions(dir));
    expectBatches(await readAll(again), [1, 2]);
    expect(again.metadata('m').get('m')).toEqual([{ type: 'gauge', help: 'help text', unit: 'seconds' }]);
    await appendBatch(again, 3);
    await again.close();
    const third = await openTsdb(testOptions(dir));
    expectBatches(await readAll(third), [1, 2, 3]);
    // The appender continues the restored open chunks.
    await appendBatch(third, 4);
    expectBatches(await readAll(third), [1, 2, 3, 4]);
    await third.close();
  });

  it('replays the WAL when the previous process never closed', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir));
    await appendBatch(db, 1);
    await appendBatch(db, 2);
    const reader = await openTsdb(testOptions(dir));
    expectBatches(await readAll(reader), [1, 2]);
    await reader.close();
  });

  it('rotates segments at the configured size', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir, { walSegmentBytes: 4096 }));
    for (let b = 1; b <= 8; b++) await appendBatch(db, b);
    expect(segments(dir).length).toBeGreaterThan(2);
    const reader = await openTsdb(testOptions(dir));
    expectBatches(await readAll(reader), [1, 2, 3, 4, 5, 6, 7, 8]);
    await reader.close();
    await db.close();
  });

  it('checkpoints a large WAL and replays checkpoint plus newer segments', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir, { walSegmentBytes: 4096 }));
    for (let b = 1; b <= 8; b++) await appendBatch(db, b);
    const before = segments(dir).length;
    await db.compact();
    expect(readdirSync(join(dir, 'wal')).some((n) => n.startsWith('checkpoint.'))).toBe(true);
    expect(segments(dir).length).toBeLessThan(before);
    await appendBatch(db, 9);
    const reader = await openTsdb(testOptions(dir));
    expectBatches(await readAll(reader), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await reader.close();
  });

  for (const damage of ['truncate', 'flip'] as const) {
    it(`recovers from a ${damage === 'truncate' ? 'torn' : 'corrupt'} WAL tail with a warning`, async () => {
      const dir = temp.make();
      const db = await openTsdb(testOptions(dir));
      await appendBatch(db, 1);
      await appendBatch(db, 2);
      const seg = join(dir, 'wal', segments(dir).at(-1)!);
      const size = readFileSync(seg).length;
      await appendBatch(db, 3);
      const full = readFileSync(seg);
      if (damage === 'truncate') truncateSync(seg, size + Math.floor((full.length - size) / 2));
      else {
        full[full.length - 5] = full[full.length - 5]! ^ 0xff;
        writeFileSync(seg, full);
      }
      const { logger, lines } = capturingLogger();
      const reader = await openTsdb(testOptions(dir, { logger }));
      expect(lines.some((l) => l.level === 'warn' && /WAL tail is torn or corrupt/.test(l.msg))).toBe(true);
      expectBatches(await readAll(reader), [1, 2]);
      // The store keeps working after the repair.
      await appendBatch(reader, 4);
      await reader.close();
      const after = await openTsdb(testOptions(dir));
      const data = await readAll(after);
      expect(data.get('m/1')!.t.at(-1)).toBe(4090);
      await after.close();
    });
  }

  it('survives garbage in place of a WAL segment', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir));
    await appendBatch(db, 1);
    await db.close();
    writeFileSync(join(dir, 'wal', '00000099'), Buffer.from('not a wal segment at all'));
    const { logger, lines } = capturingLogger();
    const reader = await openTsdb(testOptions(dir, { logger }));
    expect(lines.some((l) => l.level === 'warn')).toBe(true);
    expectBatches(await readAll(reader), [1]);
    await reader.close();
    expect(existsSync(join(dir, 'wal'))).toBe(true);
  });

  it('replays out-of-order samples from the WAL and from checkpoints', async () => {
    const dir = temp.make();
    const opts = () => testOptions(dir, { outOfOrderWindowMs: 60_000 });
    const labels: Labels = labelsFromRecord({ __name__: 'ooo' });
    const db = await openTsdb(opts());
    const first = db.appender();
    first.append(0, labels, 50_000, 5);
    first.append(0, labels, 60_000, 6);
    await first.commit();
    const late = db.appender();
    late.append(0, labels, 20_000, 2);
    late.append(0, labels, 55_000, 5.5);
    await late.commit();
    const want = { t: [20_000, 50_000, 55_000, 60_000], v: [2, 5, 5.5, 6] };
    const read = async (s: MetricsStorage): Promise<unknown> => {
      const [d] = await s.querier(0, 100_000).select([{ name: '__name__', type: '=', value: 'ooo' }], { start: 0, end: 100_000 });
      return { t: [...d!.timestamps], v: [...d!.values] };
    };
    const crashed = await openTsdb(opts());
    expect(await read(crashed)).toEqual(want);
    await crashed.close();
    const reopened = await openTsdb(opts());
    expect(await read(reopened)).toEqual(want);
    await reopened.close();
  });

  it('refuses a directory locked by another live process and takes over a dead one\'s lock', async () => {
    const dir = temp.make();
    const db = await openTsdb(testOptions(dir));
    await appendBatch(db, 1);
    await db.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    writeFileSync(join(dir, 'lock'), `${process.ppid}\n`);
    await expect(openTsdb(testOptions(dir))).rejects.toBeInstanceOf(DirectoryLockedError);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'lock'), `${dead}\n`);
    const reopened = await openTsdb(testOptions(dir));
    expectBatches(await readAll(reopened), [1]);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    await reopened.close();
  });

  it('keeps stale markers bit-exact through WAL replay and checkpoints', async () => {
    const dir = temp.make();
    const labels: Labels = labelsFromRecord({ __name__: 'stale' });
    const db = await openTsdb(testOptions(dir));
    const app = db.appender();
    app.append(0, labels, 1, 1);
    app.append(0, labels, 2, STALE_NAN);
    app.append(0, labels, 3, NaN);
    await app.commit();
    const crashed = await openTsdb(testOptions(dir));
    const check = async (s: MetricsStorage): Promise<void> => {
      const [d] = await s.querier(0, 10).select([{ name: '__name__', type: '=', value: 'stale' }], { start: 0, end: 10 });
      expect(isStaleNaN(d!.values[1]!)).toBe(true);
      expect(Number.isNaN(d!.values[2]!) && !isStaleNaN(d!.values[2]!)).toBe(true);
    };
    await check(crashed);
    await crashed.close();
    const reopened = await openTsdb(testOptions(dir));
    await check(reopened);
    await reopened.close();
  });
});
