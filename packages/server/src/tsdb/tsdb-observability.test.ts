import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../model/labels.js';
import { HealthRegistry } from '../selfobs/health.js';
import { tempDirs, testOptions } from '../../test/tsdb/support.js';
import { openTsdb } from './index.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

async function histogramCount(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const count = m?.values.find((v) => (v as { metricName?: string }).metricName === `${name}_count`);
  return count?.value ?? 0;
}

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('TSDB self metrics and health', () => {
  it('counts appends and rejections, reports head and WAL gauges, and registers its health', async () => {
    const registry = new Registry();
    const health = new HealthRegistry();
    const db = await openTsdb(testOptions(temp.make(), { registry, health }));
    expect(health.report().components['tsdb']?.status).toBe('ok');
    const app = db.appender();
    const l = labelsFromRecord({ __name__: 'x' });
    app.append(0, l, 10, 1);
    app.append(0, l, 20, 1);
    expect(() => app.append(0, l, 5, 1)).toThrow();
    await app.commit();
    expect(await value(registry, 'watchkeeper_tsdb_head_samples_appended_total')).toBe(2);
    expect(await value(registry, 'watchkeeper_tsdb_samples_rejected_total', { reason: 'out_of_order' })).toBe(1);
    expect(await value(registry, 'watchkeeper_tsdb_head_series')).toBe(1);
    expect(await value(registry, 'watchkeeper_tsdb_head_chunks')).toBe(1);
    expect(await value(registry, 'watchkeeper_tsdb_wal_size_bytes')).toBeGreaterThan(0);
    expect(await histogramCount(registry, 'watchkeeper_tsdb_wal_fsync_duration_seconds')).toBeGreaterThan(0);
    for (const name of ['watchkeeper_tsdb_compaction_duration_seconds', 'watchkeeper_tsdb_blocks_loaded', 'watchkeeper_tsdb_storage_blocks_bytes']) {
      expect(registry.getSingleMetric(name), name).toBeDefined();
    }
    await db.close();
    expect(health.report().components['tsdb']).toBeUndefined();
  });

  it('shares one fsync among commits that wait at the same time', async () => {
    const registry = new Registry();
    const db = await openTsdb(testOptions(temp.make(), { registry }));
    const commits: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const app = db.appender();
      app.append(0, labelsFromRecord({ __name__: 'g', i: String(i) }), 1, i);
      commits.push(app.commit());
    }
    await Promise.all(commits);
    const count = await histogramCount(registry, 'watchkeeper_tsdb_wal_fsync_duration_seconds');
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(50);
    await db.close();
  });
});
