/**
 * Group commit for the signal store. Requests submit write units (column batches for one or more
 * tables); one writer drains the queue, putting every unit waiting at that moment into a single
 * transaction (appended through DuckDB data chunks), commits it, and only then resolves the
 * units' promises. DuckDB writes and fsyncs its WAL before COMMIT returns, so a resolved unit is
 * durable. The queue is bounded in rows: a unit that does not fit is refused at once with
 * StoreOverloadedError (HTTP 429) instead of growing memory.
 *
 * A commit's fixed cost is most of the cost of a small one (measured on DuckDB 1.5: ~0.3 ms of CPU
 * for each of BEGIN and COMMIT parsed and planned anew, ~1 ms to make an appender), so the
 * transaction statements are prepared once, each table keeps one appender between commits, and
 * a small group for one table skips the statements altogether (AUTO_COMMIT_MAX_ROWS).
 */
import { statSync } from 'node:fs';
import type { DuckDBAppender, DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { appendColumnBatches } from './column-appender.js';
import { checkBatchShape, type ColumnBatch, type TableSchema } from './table-schema.js';

/**
 * Largest group (rows) written to a single table without BEGIN and COMMIT statements: the
 * appender's flush commits it in DuckDB's auto-commit mode. On DuckDB 1.5 that costs ~1.5 ms of
 * CPU less than the same rows between prepared BEGIN and COMMIT (~2 ms against ~3.5 ms for ten
 * error events), because the two statements' asynchronous executions hop between threads and
 * run the executor. The price is that the flush waits for the WAL's fsync on the event loop, so
 * only small groups, whose cost is mostly this fixed part, take this path. The appender flushes
 * by itself only far beyond this size (100 chunks), so such a group is always one transaction.
 */
const AUTO_COMMIT_MAX_ROWS = 2048;

/**
 * Whether a small commit leaves the WAL below the checkpoint threshold. DuckDB checkpoints in the
 * committing call once the WAL would pass it, which may take seconds; an auto-committed flush
 * runs on the event loop, so near the threshold commits take the transaction path, whose COMMIT
 * (and so the checkpoint) runs on a DuckDB thread. The margin is wider than a small group's WAL
 * records except for rows of several kilobytes each.
 */
export function walFarFromCheckpoint(walBytes: number, thresholdBytes: number): boolean {
  const margin = Math.min(16 * 1024 * 1024, thresholdBytes / 4);
  return walBytes + margin < thresholdBytes;
}

/** The WAL file's size; 0 before DuckDB made one (and after a checkpoint removed it). */
function walBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What one request writes: committed atomically, possibly together with other units. */
export interface WriteUnit {
  readonly batches: readonly ColumnBatch[];
  /** Runs synchronously after the commit that made this unit durable (e.g. live-tail fan-out). */
  readonly afterCommit?: () => void;
}

/** The write queue is full; the client should retry after `retryAfterSeconds`. */
export class StoreOverloadedError extends Error {
  override readonly name = 'StoreOverloadedError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** The store is closed (shutting down); writes are refused. */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
}

export interface WriteQueueOptions {
  readonly connection: DuckDBConnection;
  readonly logger: Logger;
  /** Rows that may wait for the writer at once; beyond it units are refused. */
  readonly maxQueuedRows: number;
  /** Rows per transaction; a larger backlog is committed in several transactions. */
  readonly maxRowsPerCommit: number;
  /**
   * How long the writer waits before gathering a commit while writers are concurrent, so that
   * fewer, larger commits pay DuckDB's fixed cost per commit; 0 (the default) never waits.
   */
  readonly commitDelayMs?: number;
  /** DuckDB's WAL file and the size at which a commit checkpoints it into the database. */
  readonly wal: { readonly path: string; readonly checkpointThresholdBytes: number };
  /** Observes each commit (rows, seconds) for self metrics. */
  readonly onCommit?: (rows: number, seconds: number) => void;
}

interface PendingWrite {
  readonly kind: 'write';
  readonly unit: WriteUnit;
  readonly rows: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface PendingTask {
  readonly kind: 'task';
  readonly run: (conn: DuckDBConnection) => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

type Pending = PendingWrite | PendingTask;

export class WriteQueue {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private draining: Promise<void> | null = null;
  private closed = false;
  private readonly log: Logger;
  private statements: { begin: DuckDBPreparedStatement; commit: DuckDBPreparedStatement } | null = null;
  /** Units the last commit gathered. */
  private lastGroupUnits = 0;
  /** The writer's wait for more writes (commitDelayMs): how many it waits for, and its end. */
  private gathering: { readonly units: number; readonly wake: () => void } | null = null;
  /** One appender per table, reused by every commit; dropped after a failed commit and on exclusive tasks. */
  private readonly appenders = new Map<string, DuckDBAppender>();

  constructor(private readonly opts: WriteQueueOptions) {
    this.log = opts.logger;
  }

  /** Rows waiting for the writer (for health and metrics). */
  get backlogRows(): number {
    return this.queuedRows;
  }

  /**
   * Queues a unit; resolves once it is committed and durable. Rejects at once with
   * StoreOverloadedError when the queue has no room, and with StoreClosedError after close().
   */
  submit(unit: WriteUnit): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError('the signal store is closed'));
    let rows = 0;
    for (const b of unit.batches) {
      checkBatchShape(b);
      rows += b.rowCount;
    }
    // A lone unit larger than the bound is still accepted so that no request size is unwritable.
    if (this.queuedRows > 0 && this.queuedRows + rows > this.opts.maxQueuedRows) {
      return Promise.reject(new StoreOverloadedError(`the signal store write queue is full (${this.queuedRows} rows waiting); retry later`, 1));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'write', unit, rows, resolve, reject });
      this.queuedRows += rows;
      if (this.gathering !== null && this.queue.length >= this.gathering.units) this.gathering.wake();
      this.kick();
    });
  }

  /** Runs `fn` on the write connection between commits (retention deletes, checkpoints). */
  exclusive(fn: (conn: DuckDBConnection) => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError('the signal store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'task', run: fn, resolve, reject });
      this.kick();
    });
  }

  /** Refuses new work and waits until everything queued is committed. */
  async close(): Promise<void> {
    this.closed = true;
    this.gathering?.wake();
    while (this.draining) await this.draining;
    this.dropAppenders();
    if (this.statements) {
      this.statements.begin.destroySync();
      this.statements.commit.destroySync();
      this.statements = null;
    }
  }

  private dropAppenders(): void {
    for (const appender of this.appenders.values()) {
      try {
        appender.closeSync();
      } catch {
        // An appender left unusable by a failed commit has nothing more to flush.
      }
    }
    this.appenders.clear();
  }

  private async appender(conn: DuckDBConnection, table: string): Promise<DuckDBAppender> {
    let appender = this.appenders.get(table);
    if (!appender) {
      appender = await conn.createAppender(table);
      this.appenders.set(table, appender);
    }
    return appender;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === 'task') {
        this.queue.shift();
        // Tasks may change tables (migrations) or need no other user of the connection (checkpoints).
        this.dropAppenders();
        try {
          await head.run(this.opts.connection);
          head.resolve();
        } catch (err) {
          head.reject(err as Error);
        }
        continue;
      }
      // One turn of the event loop first: writes whose requests are already decoded but not yet
      // handled join this commit instead of paying for one of their own.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // With concurrent writers (the last commit gathered several units), more are on their way:
      // wait for them (PostgreSQL's commit_delay), until more are waiting than the last commit
      // gathered (so that groups can grow) or the delay has passed.
      const delayMs = this.opts.commitDelayMs ?? 0;
      const enough = this.lastGroupUnits + 1;
      if (delayMs > 0 && this.lastGroupUnits > 1 && this.queue.length < enough) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timer);
            this.gathering = null;
            resolve();
          };
          const timer = setTimeout(wake, delayMs);
          this.gathering = { units: enough, wake };
        });
      }
      const group: PendingWrite[] = [];
      let rows = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (next.kind !== 'write') break;
        if (group.length > 0 && rows + next.rows > this.opts.maxRowsPerCommit) break;
        this.queue.shift();
        group.push(next);
        rows += next.rows;
      }
      this.lastGroupUnits = group.length;
      await this.commitGroup(group, rows);
    }
  }

  private async commitGroup(group: readonly PendingWrite[], rows: number): Promise<void> {
    try {
      await this.commit(group.map((p) => p.unit), rows);
      this.settle(group, null);
    } catch (err) {
      if (group.length === 1) {
        this.settle(group, err as Error);
        return;
      }
      // One bad unit must not fail its neighbours: retry each alone so only the culprit fails.
      this.log.warn({ err, units: group.length }, 'group commit failed; retrying its units one by one');
      for (const p of group) {
        try {
          await this.commit([p.unit], p.rows);
          this.settle([p], null);
        } catch (unitErr) {
          this.settle([p], unitErr as Error);
        }
      }
    }
  }

  private settle(group: readonly PendingWrite[], err: Error | null): void {
    for (const p of group) {
      this.queuedRows -= p.rows;
      if (err) {
        p.reject(err);
        continue;
      }
      try {
        p.unit.afterCommit?.();
      } catch (hookErr) {
        this.log.error({ err: hookErr }, 'after-commit hook failed');
      }
      p.resolve();
    }
  }

  private async commit(units: readonly WriteUnit[], rows: number): Promise<void> {
    const started = performance.now();
    const byTable = new Map<TableSchema, ColumnBatch[]>();
    for (const u of units) {
      for (const b of u.batches) {
        if (b.rowCount === 0) continue;
        const list = byTable.get(b.table);
        if (list) list.push(b);
        else byTable.set(b.table, [b]);
      }
    }
    if (byTable.size > 0) await this.writeTables(byTable, rows);
    this.opts.onCommit?.(rows, (performance.now() - started) / 1000);
  }

  /** Appends each table's batches and makes them durable in one transaction. */
  private async writeTables(byTable: ReadonlyMap<TableSchema, readonly ColumnBatch[]>, rows: number): Promise<void> {
    const conn = this.opts.connection;
    // A small group for one table is committed by its appender's flush alone: outside an explicit
    // transaction the flush is one auto-committed transaction, WAL fsync included.
    const autoCommit = byTable.size === 1 && rows <= AUTO_COMMIT_MAX_ROWS && walFarFromCheckpoint(walBytes(this.opts.wal.path), this.opts.wal.checkpointThresholdBytes);
    const statements = autoCommit ? null : (this.statements ??= { begin: await conn.prepare('BEGIN TRANSACTION'), commit: await conn.prepare('COMMIT') });
    await statements?.begin.run();
    try {
      for (const [table, batches] of byTable) {
        const appender = await this.appender(conn, table.name);
        appendColumnBatches(appender, table, batches);
        appender.flushSync();
      }
      await statements?.commit.run();
    } catch (err) {
      this.dropAppenders();
      if (statements) await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
