import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnBatch, TableSchema } from './table-schema.js';
import { walFarFromCheckpoint, WriteQueue } from './write-queue.js';

const ITEMS: TableSchema = {
  name: 'items',
  columns: [
    { name: 'id', kind: 'bigint' },
    { name: 'name', kind: 'varchar' },
  ],
  migrations: [],
  timeColumn: null,
};
const NOTES: TableSchema = { ...ITEMS, name: 'notes' };
/** A small checkpoint threshold, so that the tests cross it. */
const THRESHOLD = 512 * 1024;

/** A batch of `ids`; a null name violates the tables' NOT NULL constraint, failing its commit. */
function batch(table: TableSchema, ids: readonly number[], name: string | null = 'ok'): ColumnBatch {
  return { table, rowCount: ids.length, columns: [ids.map(BigInt), ids.map(() => name)] };
}

describe('signal store write queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-write-queue-'));
  let path: string;
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  let queue: WriteQueue;
  let commits: number[];
  let round = 0;

  beforeEach(async () => {
    path = join(dir, `db-${round++}.duckdb`);
    instance = await DuckDBInstance.create(path, { checkpoint_threshold: `${THRESHOLD}B` });
    conn = await instance.connect();
    for (const t of [ITEMS, NOTES]) await conn.run(`CREATE TABLE ${t.name} (id BIGINT NOT NULL, name VARCHAR NOT NULL)`);
    commits = [];
    queue = new WriteQueue({ ...options(conn), onCommit: (rows) => commits.push(rows) });
  });

  afterEach(async () => {
    await queue.close();
    conn.closeSync();
    instance.closeSync();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function options(connection: DuckDBConnection) {
    return { connection, logger: pino({ level: 'silent' }), maxQueuedRows: 100_000, maxRowsPerCommit: 50_000, wal: { path: `${path}.wal`, checkpointThresholdBytes: THRESHOLD } };
  }

  /**
   * The ids in `table` as another connection sees them (committed), checked to be the same after
   * reopening the file (durable).
   */
  async function durableIds(table: string): Promise<number[]> {
    const other = await instance.connect();
    const committed = (await other.runAndReadAll(`SELECT id FROM ${table} ORDER BY id`)).getRows().map(([id]) => Number(id));
    other.closeSync();
    await queue.close();
    conn.closeSync();
    instance.closeSync();
    instance = await DuckDBInstance.create(path);
    conn = await instance.connect();
    queue = new WriteQueue(options(conn));
    const reopened = (await conn.runAndReadAll(`SELECT id FROM ${table} ORDER BY id`)).getRows().map(([id]) => Number(id));
    expect(reopened).toEqual(committed);
    return committed;
  }

  it('commits small single-table units together and durably', async () => {
    await Promise.all([1, 2, 3].map((id) => queue.submit({ batches: [batch(ITEMS, [id])] })));
    await queue.submit({ batches: [batch(ITEMS, [4, 5])] });
    expect(commits.reduce((a, b) => a + b, 0)).toBe(5);
    expect(commits.length).toBeLessThan(5);
    expect(await durableIds('items')).toEqual([1, 2, 3, 4, 5]);
  });

  it('commits a group larger than one chunk, and one spanning tables, as one transaction each', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => i + 1);
    await queue.submit({ batches: [batch(ITEMS, many)] });
    await queue.submit({ batches: [batch(ITEMS, [9001]), batch(NOTES, [9001])] });
    expect(commits).toEqual([5000, 2]);
    expect(await durableIds('items')).toEqual([...many, 9001]);
    expect(await durableIds('notes')).toEqual([9001]);
  });

  it('fails only the bad unit of a small single-table group, and keeps working after', async () => {
    const results = await Promise.allSettled([
      queue.submit({ batches: [batch(ITEMS, [1])] }),
      queue.submit({ batches: [batch(ITEMS, [2], null)] }),
      queue.submit({ batches: [batch(ITEMS, [3])] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await queue.submit({ batches: [batch(ITEMS, [4])] });
    expect(await durableIds('items')).toEqual([1, 3, 4]);
  });

  it('rolls back every table of a unit whose write to one table fails', async () => {
    const results = await Promise.allSettled([
      queue.submit({ batches: [batch(ITEMS, [1]), batch(NOTES, [1])] }),
      queue.submit({ batches: [batch(ITEMS, [2]), batch(NOTES, [2], null)] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    await queue.submit({ batches: [batch(NOTES, [3])] });
    expect(await durableIds('items')).toEqual([1]);
    expect(await durableIds('notes')).toEqual([1, 3]);
  });

  it('with a commit delay, waits for more writes after a commit of concurrent ones', async () => {
    await queue.close();
    const delayed = (queue = new WriteQueue({ ...options(conn), commitDelayMs: 200, onCommit: (rows) => commits.push(rows) }));
    await Promise.all([1, 2, 3].map((id) => delayed.submit({ batches: [batch(ITEMS, [id])] })));
    const later = [delayed.submit({ batches: [batch(ITEMS, [4])] })];
    await new Promise((resolve) => setTimeout(resolve, 20));
    later.push(delayed.submit({ batches: [batch(ITEMS, [5])] }), delayed.submit({ batches: [batch(ITEMS, [6])] }));
    await Promise.all(later);
    expect(commits).toEqual([3, 3]);
    expect(await durableIds('items')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ends the commit delay as soon as more writes wait than the last commit gathered', async () => {
    await queue.close();
    // A delay longer than the test's timeout: only the early end lets the test finish.
    const delayed = (queue = new WriteQueue({ ...options(conn), commitDelayMs: 60_000, onCommit: (rows) => commits.push(rows) }));
    await Promise.all([1, 2].map((id) => delayed.submit({ batches: [batch(ITEMS, [id])] })));
    const later = [delayed.submit({ batches: [batch(ITEMS, [3])] })];
    await new Promise((resolve) => setTimeout(resolve, 20));
    later.push(delayed.submit({ batches: [batch(ITEMS, [4])] }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    later.push(delayed.submit({ batches: [batch(ITEMS, [5])] }));
    await Promise.all(later);
    expect(commits).toEqual([2, 3]);
  });

  it('checkpoints as the WAL grows past the threshold under small commits, losing nothing', async () => {
    const name = 'x'.repeat(300);
    let maxWal = 0;
    for (let i = 0; i < 200; i++) {
      await Promise.all([0, 1, 2, 3].map((j) => queue.submit({ batches: [batch(ITEMS, [i * 10 + j * 2, i * 10 + j * 2 + 1], name)] })));
      maxWal = Math.max(maxWal, statSync(`${path}.wal`, { throwIfNoEntry: false })?.size ?? 0);
    }
    // 1,600 rows of ~300 bytes went through a WAL that never grew far past the threshold.
    expect(maxWal).toBeGreaterThan(THRESHOLD / 4);
    expect(maxWal).toBeLessThan(THRESHOLD * 1.5);
    expect(await durableIds('items')).toHaveLength(1600);
  });
});

describe('auto-commit near the checkpoint threshold', () => {
  it('auto-commits only while the WAL is a safe margin below the threshold', () => {
    const mib = 1024 * 1024;
    expect(walFarFromCheckpoint(0, 128 * mib)).toBe(true);
    expect(walFarFromCheckpoint(100 * mib, 128 * mib)).toBe(true);
    expect(walFarFromCheckpoint(113 * mib, 128 * mib)).toBe(false);
    expect(walFarFromCheckpoint(2 * mib, 4 * mib)).toBe(true);
    expect(walFarFromCheckpoint(3.5 * mib, 4 * mib)).toBe(false);
  });
});
