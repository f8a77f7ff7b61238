import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Counter, Histogram } from 'prom-client';
import { frameRecord, Journal, readRecords, type EncodedRecord } from './journal.js';
import type { ColumnBatch, TableSchema } from './table-schema.js';
import { JOURNAL_STATE_DDL, JOURNALED_MAX_ROWS, WriteQueue, type WriteQueueOptions } from './write-queue.js';

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
const silent = pino({ level: 'silent' });
/** The journal's metrics, on no registry. */
const metrics = () => ({
  walFsyncDuration: new Histogram({ name: 'fsync_seconds', help: 'h', registers: [] }),
  walCorruptions: new Counter({ name: 'corruptions_total', help: 'h', registers: [] }),
  walWriteFailures: new Counter({ name: 'write_failures_total', help: 'h', registers: [] }),
});
const isSegment = (name: string): boolean => /^\d{8}$/.test(name);

/** A batch of `ids`; a null name violates the tables' NOT NULL constraint, failing its commit. */
function batch(table: TableSchema, ids: readonly number[], name: string | null = 'ok'): ColumnBatch {
  return { table, rowCount: ids.length, columns: [ids.map(BigInt), ids.map(() => name)] };
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('signal store write queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-write-queue-'));
  let path: string;
  let journalDir: string;
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  let journal: Journal;
  let queue: WriteQueue;
  /** Rows of each DuckDB transaction. */
  let commits: number[];
  /** Records of each journal append (fsync). */
  let appends: number[];
  let setAside: number;
  let round = 0;

  /** Opens the database and journal as the signal store does, replaying what DuckDB lacks. */
  async function open(options: Partial<WriteQueueOptions> = {}, segmentBytes?: number): Promise<void> {
    instance = await DuckDBInstance.create(path);
    conn = await instance.connect();
    for (const t of [ITEMS, NOTES]) await conn.run(`CREATE TABLE IF NOT EXISTS ${t.name} (id BIGINT NOT NULL, name VARCHAR NOT NULL)`);
    for (const ddl of JOURNAL_STATE_DDL) await conn.run(ddl);
    const appliedSeq = Number((await conn.runAndReadAll('SELECT applied_seq FROM signal_journal')).getRows()[0]![0]);
    const opened = await Journal.open({ dir: journalDir, appliedSeq, logger: silent, metrics: metrics(), ...(segmentBytes ? { segmentBytes } : {}) });
    journal = opened.journal;
    const append = journal.append.bind(journal);
    journal.append = (records: readonly EncodedRecord[]) => {
      appends.push(records.length);
      return append(records);
    };
    commits = [];
    appends = [];
    queue = new WriteQueue({
      connection: conn,
      logger: silent,
      journal,
      maxQueuedRows: 100_000,
      maxRowsPerCommit: 50_000,
      // Long enough that only reads, tasks, size and close apply the journal, unless a test says otherwise.
      applyDelayMs: 60_000,
      onCommit: (rows) => commits.push(rows),
      onSetAside: () => setAside++,
      ...options,
    });
    await queue.replay(opened.unapplied);
  }

  /** Stops without applying the journal, as a crash would: DuckDB keeps only what it committed. */
  async function crash(): Promise<void> {
    await journal.close();
    conn.closeSync();
    instance.closeSync();
  }

  async function close(): Promise<void> {
    await queue.close();
    conn.closeSync();
    instance.closeSync();
  }

  /** The ids in `table` as another connection sees them once acknowledged writes are visible. */
  async function visibleIds(table: string): Promise<number[]> {
    await queue.visible();
    const other = await instance.connect();
    const ids = (await other.runAndReadAll(`SELECT id FROM ${table} ORDER BY id`)).getRows().map(([id]) => Number(id));
    other.closeSync();
    return ids;
  }

  beforeEach(async () => {
    const base = join(dir, `round-${round++}`);
    path = `${base}.duckdb`;
    journalDir = `${base}-journal`;
    setAside = 0;
    await open();
  });

  afterEach(async () => {
    await close().catch(() => undefined);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('acknowledges small units by one journal fsync and applies them to DuckDB together before a read', async () => {
    await Promise.all([1, 2, 3].map((id) => queue.submit({ batches: [batch(ITEMS, [id])] })));
    await queue.submit({ batches: [batch(ITEMS, [4, 5])] });
    expect(appends.reduce((a, b) => a + b, 0)).toBe(4);
    expect(appends.length).toBeLessThan(4);
    // Acknowledged but not yet in DuckDB: the apply waits for a read.
    expect(commits).toEqual([]);
    expect(await visibleIds('items')).toEqual([1, 2, 3, 4, 5]);
    expect(commits).toEqual([5]);
  });

  it('makes every round of acknowledged writes visible to the next read', async () => {
    for (let id = 1; id <= 3; id++) {
      await queue.submit({ batches: [batch(ITEMS, [id])] });
      expect(await visibleIds('items')).toEqual(range(1, id));
    }
    expect(commits).toEqual([1, 1, 1]);
  });

  it('makes writes still on their way to the journal visible to a read that starts after them', async () => {
    const written = [queue.submit({ batches: [batch(ITEMS, [1])] }), queue.submit({ batches: [batch(ITEMS, range(100, JOURNALED_MAX_ROWS + 1))] })];
    expect(await visibleIds('items')).toEqual([1, ...range(100, JOURNALED_MAX_ROWS + 1)]);
    await Promise.all(written);
  });

  it('applies the journal after applyDelayMs when nothing reads', async () => {
    await close();
    await open({ applyDelayMs: 20 });
    await queue.submit({ batches: [batch(ITEMS, [1])] });
    await queue.submit({ batches: [batch(ITEMS, [2])] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(commits).toEqual([2]);
  });

  it('replays acknowledged units DuckDB lacks after a crash, exactly once', async () => {
    await queue.submit({ batches: [batch(ITEMS, [1, 2]), batch(NOTES, [1])] });
    expect(await visibleIds('items')).toEqual([1, 2]);
    await Promise.all([3, 4].map((id) => queue.submit({ batches: [batch(ITEMS, [id])] })));
    await queue.submit({ batches: [batch(NOTES, [2])] });
    await crash();
    await open();
    expect(await visibleIds('items')).toEqual([1, 2, 3, 4]);
    expect(await visibleIds('notes')).toEqual([1, 2]);
    // A second crash right after the replay applies nothing twice.
    await crash();
    await open();
    expect(await visibleIds('items')).toEqual([1, 2, 3, 4]);
    expect(commits).toEqual([]);
  });

  it('cuts off a record torn by a crash and keeps appending after the last whole one', async () => {
    await queue.submit({ batches: [batch(ITEMS, [1])] });
    await queue.submit({ batches: [batch(ITEMS, [2])] });
    await crash();
    const [segment] = readdirSync(journalDir).filter(isSegment);
    const whole = statSync(join(journalDir, segment!)).size;
    appendFileSync(join(journalDir, segment!), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    await open();
    expect(statSync(join(journalDir, segment!)).size).toBe(whole);
    await queue.submit({ batches: [batch(ITEMS, [3])] });
    await crash();
    await open();
    expect(await visibleIds('items')).toEqual([1, 2, 3]);
  });

  it('commits a large unit directly, after the journaled units before it, and one spanning tables atomically', async () => {
    await queue.submit({ batches: [batch(ITEMS, [1])] });
    const many = range(100, JOURNALED_MAX_ROWS + 1);
    await queue.submit({ batches: [batch(ITEMS, many), batch(NOTES, [5])] });
    expect(commits).toEqual([1, JOURNALED_MAX_ROWS + 2]);
    await close();
    await open();
    expect(await visibleIds('items')).toEqual([1, ...many]);
    expect(await visibleIds('notes')).toEqual([5]);
  });

  it('fails only the bad unit of a group of large units, rolling back all its tables', async () => {
    const big = (from: number, name: string | null = 'ok') => [batch(ITEMS, range(from, JOURNALED_MAX_ROWS + 1)), batch(NOTES, [from], name)];
    const results = await Promise.allSettled([
      queue.submit({ batches: big(10_000) }),
      queue.submit({ batches: big(20_000, null) }),
      queue.submit({ batches: big(30_000) }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await visibleIds('notes')).toEqual([10_000, 30_000]);
    expect((await visibleIds('items')).length).toBe(2 * (JOURNALED_MAX_ROWS + 1));
  });

  it('sets aside a journaled unit DuckDB refuses, applies its neighbours, and keeps working', async () => {
    await Promise.all([
      queue.submit({ batches: [batch(ITEMS, [1])] }),
      queue.submit({ batches: [batch(ITEMS, [2], null)] }),
      queue.submit({ batches: [batch(ITEMS, [3])] }),
    ]);
    expect(await visibleIds('items')).toEqual([1, 3]);
    expect(setAside).toBe(1);
    const rejected = readdirSync(join(journalDir, 'rejected'));
    expect(rejected).toHaveLength(1);
    const { records } = readRecords(readFileSync(join(journalDir, 'rejected', rejected[0]!)));
    expect(records[0]!.batches[0]!.columns[0]).toEqual([2n]);
    await queue.submit({ batches: [batch(ITEMS, [4])] });
    await crash();
    await open();
    expect(await visibleIds('items')).toEqual([1, 3, 4]);
  });

  it('moves to new journal segments and deletes the applied ones', async () => {
    await close();
    await open({}, 4096);
    const name = 'x'.repeat(500);
    for (let i = 0; i < 40; i++) await queue.submit({ batches: [batch(ITEMS, [i], name)] });
    expect(readdirSync(journalDir).filter(isSegment).length).toBeGreaterThan(3);
    expect(await visibleIds('items')).toEqual(range(0, 40));
    expect(readdirSync(journalDir).filter(isSegment)).toHaveLength(1);
    await queue.submit({ batches: [batch(ITEMS, [40], name)] });
    await crash();
    await open({}, 4096);
    expect(await visibleIds('items')).toEqual(range(0, 41));
  });

  it('applies journaled units before an exclusive task', async () => {
    await queue.submit({ batches: [batch(ITEMS, [7])] });
    let seen: number[] = [];
    await queue.exclusive(async (c) => {
      seen = (await c.runAndReadAll('SELECT id FROM items')).getRows().map(([id]) => Number(id));
    });
    expect(seen).toEqual([7]);
  });

  it('with a commit delay, waits for more writes after an append of concurrent ones', async () => {
    await close();
    await open({ commitDelayMs: 200 });
    await Promise.all([1, 2, 3].map((id) => queue.submit({ batches: [batch(ITEMS, [id])] })));
    const later = [queue.submit({ batches: [batch(ITEMS, [4])] })];
    await new Promise((resolve) => setTimeout(resolve, 20));
    later.push(queue.submit({ batches: [batch(ITEMS, [5])] }), queue.submit({ batches: [batch(ITEMS, [6])] }));
    await Promise.all(later);
    expect(appends).toEqual([3, 3]);
    expect(await visibleIds('items')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ends the commit delay as soon as more writes wait than the last append gathered', async () => {
    await close();
    // A delay longer than the test's timeout: only the early end lets the test finish.
    await open({ commitDelayMs: 60_000 });
    await Promise.all([1, 2].map((id) => queue.submit({ batches: [batch(ITEMS, [id])] })));
    const later = [queue.submit({ batches: [batch(ITEMS, [3])] })];
    await new Promise((resolve) => setTimeout(resolve, 20));
    later.push(queue.submit({ batches: [batch(ITEMS, [4])] }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    later.push(queue.submit({ batches: [batch(ITEMS, [5])] }));
    await Promise.all(later);
    expect(appends).toEqual([2, 3]);
  });
});

describe('signal journal records', () => {
  const table: TableSchema = { name: 't', columns: [{ name: 'a', kind: 'bigint' }, { name: 'b', kind: 'varchar' }, { name: 'c', kind: 'double' }], migrations: [], timeColumn: null };

  it('round-trips typed arrays, packed texts, NULLs and blobs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wk-journal-'));
    try {
      const { journal } = await Journal.open({ dir, appliedSeq: 0, logger: silent, metrics: metrics() });
      const packed = { length: 2, bytes: new Uint8Array([104, 105]), ends: new Int32Array([2, 2]), nulls: new Uint8Array([0, 1]) };
      const rec = journal.encode([
        { table, rowCount: 2, columns: [new BigInt64Array([1n, -2n]), packed, new Float64Array([0.5, Number.NaN])] },
        { table: { ...table, columns: [{ name: 'x', kind: 'blob' }] }, rowCount: 2, columns: [[new Uint8Array([1, 2]), null]] },
      ]);
      await journal.append([rec]);
      await journal.close();
      const bytes = frameRecord(rec);
      const { records, validBytes } = readRecords(bytes);
      expect(validBytes).toBe(bytes.length);
      const [first, second] = records[0]!.batches;
      expect(first!.table.columns.map((c) => c.kind)).toEqual(['bigint', 'varchar', 'double']);
      expect(first!.columns[0]).toEqual(new BigInt64Array([1n, -2n]));
      expect(first!.columns[1]).toEqual(packed);
      expect(second!.columns[0]).toEqual([new Uint8Array([1, 2]), null]);
      const reopened = await Journal.open({ dir, appliedSeq: 0, logger: silent, metrics: metrics() });
      expect(reopened.unapplied.map((r) => r.seq)).toEqual([rec.seq]);
      await reopened.journal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops at the first damaged record of random, cut or corrupted bytes without throwing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wk-journal-'));
    try {
      const { journal } = await Journal.open({ dir, appliedSeq: 0, logger: silent, metrics: metrics() });
      const recs = [1, 2, 3].map((id) => journal.encode([batch(ITEMS, [id])])).map((r) => ({ seq: r.seq, bytes: frameRecord(r) }));
      await journal.close();
      const all = Buffer.concat(recs.map((r) => r.bytes));
      for (let cut = 0; cut < all.length; cut += 7) {
        const { records, validBytes } = readRecords(all.subarray(0, cut));
        expect(validBytes).toBeLessThanOrEqual(cut);
        expect(records.length).toBe(recs.filter((_, i) => recs.slice(0, i + 1).reduce((n, r) => n + r.bytes.length, 0) <= cut).length);
      }
      const flipped = Buffer.from(all);
      flipped[recs[0]!.bytes.length + 12]! ^= 0xff;
      expect(readRecords(flipped).records.map((r) => r.seq)).toEqual([recs[0]!.seq]);
      for (let i = 0; i < 200; i++) {
        const random = Buffer.from(Array.from({ length: 1 + Math.floor(Math.random() * 200) }, () => Math.floor(Math.random() * 256)));
        expect(() => readRecords(random)).not.toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
