import { describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../model/labels.js';
import { MemoryStorage } from '../storage/memory/memory-storage.js';
import type { Queryable, SeriesData } from '../storage/interfaces.js';
import { Engine } from './engine.js';
import { QueryError, TOO_MANY_SAMPLES } from './errors.js';

async function store(series: number, points: number): Promise<MemoryStorage> {
  const s = new MemoryStorage();
  const a = s.appender();
  for (let i = 0; i < series; i++) {
    for (let p = 0; p < points; p++) a.append(0, labelsFromRecord({ __name__: 'm', i: String(i) }), p * 1000, p);
  }
  await a.commit();
  return s;
}

/** A queryable whose selects wait until released, to observe queueing. */
function gatedQueryable(inner: Queryable, log: string[]): { queryable: Queryable; release: () => void } {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  return {
    release: () => open(),
    queryable: {
      querier: (mint, maxt) => {
        const q = inner.querier(mint, maxt);
        return {
          ...q,
          select: async (m, h): Promise<SeriesData[]> => {
            log.push('select');
            await gate;
            return q.select(m, h);
          },
        };
      },
    },
  };
}

describe('Engine', () => {
  it('answers instant and range queries with typed results', async () => {
    const engine = new Engine();
    const s = await store(2, 100);
    const inst = await engine.instantQuery(s, 'sum(m)', 50_000);
    expect(inst).toMatchObject({ resultType: 'vector', result: [{ metric: [], t: 50_000, v: 100 }], warnings: [], infos: [] });
    const range = await engine.rangeQuery(s, 'm{i="1"} * 2', 10_000, 30_000, 10_000);
    expect(range.resultType).toBe('matrix');
    if (range.resultType !== 'matrix') return;
    expect(Array.from(range.result[0]!.values)).toEqual([20, 40, 60]);
    expect(range.result[0]!.metric).toEqual(labelsFromRecord({ i: '1' }));
  });

  it('refuses queries that load too many samples', async () => {
    const engine = new Engine({ maxSamples: 50 });
    const s = await store(3, 100);
    await expect(engine.instantQuery(s, 'count_over_time(m[30s])', 99_000)).rejects.toThrow(TOO_MANY_SAMPLES);
    await expect(engine.instantQuery(s, 'count_over_time(m[10s])', 99_000)).resolves.toMatchObject({ resultType: 'vector' });
  });

  it('times out and cancels with Prometheus error types', async () => {
    const s = await store(1, 10);
    const log: string[] = [];
    const gated = gatedQueryable(s, log);
    const engine = new Engine({ timeoutMs: 1 });
    const pending = engine.instantQuery(gated.queryable, 'm', 5000);
    await new Promise((r) => setTimeout(r, 20));
    gated.release();
    await expect(pending).rejects.toMatchObject({ type: 'timeout' });
    const controller = new AbortController();
    controller.abort();
    await expect(new Engine().instantQuery(s, 'm', 5000, { signal: controller.signal })).rejects.toMatchObject({ type: 'canceled' });
  });

  it('queues queries beyond the concurrency limit', async () => {
    const s = await store(1, 10);
    const log: string[] = [];
    const gated = gatedQueryable(s, log);
    const engine = new Engine({ maxConcurrency: 1 });
    const first = engine.instantQuery(gated.queryable, 'm', 5000);
    const second = engine.instantQuery(gated.queryable, 'm', 5000);
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual(['select']);
    gated.release();
    await Promise.all([first, second]);
    expect(log).toEqual(['select', 'select']);
  });

  it('reports errors as QueryError with a type', async () => {
    const engine = new Engine();
    const s = await store(1, 10);
    await expect(engine.instantQuery(s, 'sum(', 0)).rejects.toBeInstanceOf(QueryError);
    await expect(engine.rangeQuery(s, 'm[5m]', 0, 10_000, 1000)).rejects.toMatchObject({ type: 'bad_data' });
    await expect(engine.instantQuery(s, 'label_replace(m, "a", "b", "i", "(")', 5000)).rejects.toMatchObject({ type: 'execution' });
  });
});
