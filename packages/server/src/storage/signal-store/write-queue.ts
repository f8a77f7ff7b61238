/**
 * Group commit for the signal store. Requests submit write units (column batches for one or more
 * tables); one writer drains the queue in order and resolves a unit's promise only once it is
 * durable. The queue is bounded in rows: a unit that does not fit is refused at once with
 * StoreOverloadedError (HTTP 429) instead of growing memory.
 *
 * Small units (up to JOURNALED_MAX_ROWS rows: an error event, a batch of spans) are made durable
 * by the store's own journal (journal.ts): every small unit waiting at that moment goes into one
 * journal append and fdatasync, off the event loop, and is acknowledged then. Journaled units
 * reach DuckDB later, many at a time (after `applyDelayMs`, at APPLY_AT_ROWS rows, before
 * any read or exclusive task, and on close), in one transaction that also records the journal
 * sequence DuckDB now holds. Larger units go to DuckDB directly in a transaction of their own
 * (after the journaled units before them), since their commit's fixed cost is small beside their
 * rows and journaling them would write their bytes twice.
 *
 * Reads call `visible()` first, which waits for the writes submitted before it and applies the
 * journaled units, so a write is seen by every query that starts after it was submitted.
 *
 * A DuckDB transaction's fixed cost is most of the cost of a small one (measured on DuckDB 1.5:
 * ~0.3 ms of CPU for each of BEGIN and COMMIT parsed and planned anew, ~1 ms to make an
 * appender), so the statements are prepared once and each table keeps one appender.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { appendColumnBatches } from './column-appender.js';
import type { EncodedRecord, Journal, JournalRecord } from './journal.js';
import { checkBatchShape, type ColumnBatch, type TableSchema } from './table-schema.js';

/** Largest unit (rows) made durable by the journal; larger ones are committed to DuckDB directly. */
export const JOURNALED_MAX_ROWS = 2048;
/** Journaled rows at which they are applied to DuckDB without waiting for applyDelayMs (bounds their memory). */
const APPLY_AT_ROWS = 8192;
/** The first wait before applying journaled units again after DuckDB refused them; doubles to 30 s. */
const APPLY_RETRY_MS = 1000;

/** The DuckDB table holding the highest journal sequence applied to the database. */
export const JOURNAL_STATE_DDL = [
  'CREATE TABLE IF NOT EXISTS signal_journal (applied_seq BIGINT NOT NULL)',
  'INSERT INTO signal_journal SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM signal_journal)',
];

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
  /** The journal that makes small units durable; its unapplied records are passed to replay(). */
  readonly journal: Journal;
  /**
   * Rows that may wait to be made durable at once; beyond it units are refused. Journaled rows
   * waiting for DuckDB are bounded by APPLY_AT_ROWS, and by this too if DuckDB keeps refusing them.
   */
  readonly maxQueuedRows: number;
  /** Rows per DuckDB transaction; a larger backlog is committed in several transactions. */
  readonly maxRowsPerCommit: number;
  /**
   * How long the writer waits before gathering a group (a journal append, or a DuckDB transaction
   * of large units) while writers are concurrent, so that fewer, larger groups share an fsync; 0
   * (the default) never waits.
   */
  readonly commitDelayMs?: number;
  /** How long journaled units may wait for their DuckDB transaction when nothing reads them. */
  readonly applyDelayMs: number;
  /** Observes each DuckDB transaction (rows, seconds) for self metrics. */
  readonly onCommit?: (rows: number, seconds: number) => void;
  /** Observes a journaled unit DuckDB refused, which was set aside (journal.ts). */
  readonly onSetAside?: () => void;
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

/** A request to bring DuckDB up to date with the journal (a read's barrier, or the apply timer). */
interface PendingApply {
  readonly kind: 'apply';
  readonly resolve: () => void;
}

type Pending = PendingWrite | PendingTask | PendingApply;

/** An acknowledged unit in the journal, waiting for its DuckDB transaction. */
interface JournaledUnit {
  readonly seq: number;
  readonly batches: readonly ColumnBatch[];
  readonly rows: number;
}

const isJournaled = (p: PendingWrite): boolean => p.rows <= JOURNALED_MAX_ROWS;

export class WriteQueue {
  private readonly queue: Pending[] = [];
  /** Rows submitted and not yet durable. */
  private queuedRows = 0;
  private draining: Promise<void> | null = null;
  private closed = false;
  private readonly log: Logger;
  private statements: { begin: DuckDBPreparedStatement; commit: DuckDBPreparedStatement; applied: DuckDBPreparedStatement } | null = null;
  /** Units the last group gathered. */
  private lastGroupUnits = 0;
  /** The writer's wait for more writes (commitDelayMs): how many it waits for, and its end. */
  private gathering: { readonly units: number; readonly wake: () => void } | null = null;
  /** One appender per table, reused by every commit; dropped after a failed commit and on exclusive tasks. */
  private readonly appenders = new Map<string, DuckDBAppender>();
  /** Journaled units in sequence order; a unit leaves only once its DuckDB transaction committed. */
  private readonly journaled: JournaledUnit[] = [];
  private journaledRows = 0;
  /** The queued apply request that later barriers share, if any. */
  private applyRequest: Promise<void> | null = null;
  private applyTimer: NodeJS.Timeout | null = null;
  private applyRetryMs = APPLY_RETRY_MS;
  /** Whether the last apply stopped on an error (journaled rows then bound the queue too). */
  private applyStopped = false;

  constructor(private readonly opts: WriteQueueOptions) {
    this.log = opts.logger;
  }

  /** Rows not yet durable, and durable rows not yet in DuckDB (for health and metrics). */
  get backlogRows(): number {
    return this.queuedRows + this.journaledRows;
  }

  /** Whether moving journaled writes into DuckDB stopped on an error (it is retried). */
  get applyFailing(): boolean {
    return this.applyStopped;
  }

  /**
   * Queues a unit; resolves once it is durable. Rejects at once with StoreOverloadedError when
   * the queue has no room, and with StoreClosedError after close().
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
    if (this.applyStopped && this.journaledRows >= this.opts.maxQueuedRows) {
      return Promise.reject(new StoreOverloadedError(`the signal store cannot move ${this.journaledRows} journaled rows into the database (see the log); retry later`, 5));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'write', unit, rows, resolve, reject });
      this.queuedRows += rows;
      if (this.gathering !== null && this.queue.length >= this.gathering.units) this.gathering.wake();
      this.kick();
    });
  }

  /**
   * Applies journal records a previous process acknowledged but DuckDB lacks (Journal.open's
   * `unapplied`). Call once, before the store is used.
   */
  async replay(records: readonly JournalRecord[]): Promise<void> {
    for (const r of records) {
      const rows = r.batches.reduce((n, b) => n + b.rowCount, 0);
      this.journaled.push({ seq: r.seq, batches: r.batches, rows });
      this.journaledRows += rows;
    }
    if (records.length > 0) this.log.info({ records: records.length, rows: this.journaledRows }, 'replaying the signal journal');
    await this.applyJournaled();
  }

  /**
   * Resolves once every write submitted before the call is in DuckDB (or failed), so that a read
   * sees it: those acknowledged, and those still on their way, whose effects callers may already
   * show from memory (a new issue in the issue cache). Concurrent callers share one DuckDB
   * transaction.
   */
  visible(): Promise<void> {
    if ((this.journaled.length === 0 && this.queuedRows === 0) || this.closed) return Promise.resolve();
    return this.requestApply();
  }

  /** Runs `fn` on the write connection between commits (retention deletes, checkpoints). */
  exclusive(fn: (conn: DuckDBConnection) => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError('the signal store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'task', run: fn, resolve, reject });
      this.kick();
    });
  }

  /** Refuses new work, waits until everything queued is durable and applies the journal to DuckDB. */
  async close(): Promise<void> {
    this.closed = true;
    this.gathering?.wake();
    if (this.applyTimer) clearTimeout(this.applyTimer);
    this.applyTimer = null;
    while (this.draining) await this.draining;
    await this.applyJournaled().catch((err: Error) => this.log.warn({ err }, 'signal journal not applied at close; it is replayed on next open'));
    this.dropAppenders();
    if (this.statements) {
      for (const statement of Object.values(this.statements)) statement.destroySync();
      this.statements = null;
    }
    await this.opts.journal.close();
  }

  private requestApply(): Promise<void> {
    if (this.applyRequest !== null) return this.applyRequest;
    let resolve!: () => void;
    const request = new Promise<void>((r) => (resolve = r));
    this.applyRequest = request;
    // Queued only now: kick() may start the writer at once, which clears applyRequest when it takes the request.
    this.queue.push({ kind: 'apply', resolve });
    this.kick();
    return request;
  }

  private scheduleApply(delayMs: number): void {
    if (this.applyTimer !== null || this.closed) return;
    this.applyTimer = setTimeout(() => {
      this.applyTimer = null;
      void this.requestApply();
    }, delayMs);
    // The journal holds the units durably; a pending apply must not keep the process alive.
    this.applyTimer.unref();
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
      if (head.kind === 'apply') {
        this.queue.shift();
        this.applyRequest = null;
        await this.applyJournaledOrLog();
        head.resolve();
        continue;
      }
      if (head.kind === 'task') {
        this.queue.shift();
        try {
          // Tasks see every acknowledged write, may change tables (migrations) and may need no
          // other user of the connection (checkpoints).
          await this.applyJournaled();
          this.dropAppenders();
          await head.run(this.opts.connection);
          head.resolve();
        } catch (err) {
          head.reject(err as Error);
        }
        continue;
      }
      // One turn of the event loop first: writes whose requests are already decoded but not yet
      // handled join this group instead of paying for one of their own.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const small = this.queue[0]?.kind === 'write' && isJournaled(this.queue[0]);
      // With concurrent writers (the last group gathered several units), more are on their way:
      // wait for them (PostgreSQL's commit_delay), until more are waiting than the last group
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
        if (next.kind !== 'write' || isJournaled(next) !== small) break;
        if (group.length > 0 && rows + next.rows > this.opts.maxRowsPerCommit) break;
        this.queue.shift();
        group.push(next);
        rows += next.rows;
      }
      if (group.length === 0) continue;
      this.lastGroupUnits = group.length;
      if (small) {
        await this.appendToJournal(group);
      } else {
        // Units acknowledged before this one reach DuckDB first, so the database's order is the queue's.
        await this.applyJournaledOrLog();
        await this.commitGroup(group);
      }
    }
  }

  /** Makes a group of small units durable in the journal and acknowledges them. */
  private async appendToJournal(group: readonly PendingWrite[]): Promise<void> {
    const journal = this.opts.journal;
    const records: EncodedRecord[] = [];
    const appended: { p: PendingWrite; seq: number }[] = [];
    for (const p of group) {
      try {
        const record = journal.encode(p.unit.batches);
        records.push(record);
        appended.push({ p, seq: record.seq });
      } catch (err) {
        this.refuse([p], err as Error);
      }
    }
    if (records.length === 0) return;
    try {
      await journal.append(records);
    } catch (err) {
      this.refuse(
        appended.map((a) => a.p),
        err as Error,
      );
      return;
    }
    for (const { p, seq } of appended) {
      this.journaled.push({ seq, batches: p.unit.batches, rows: p.rows });
      this.journaledRows += p.rows;
      this.queuedRows -= p.rows;
    }
    this.acknowledge(appended.map((a) => a.p));
    if (this.journaledRows < APPLY_AT_ROWS) this.scheduleApply(this.opts.applyDelayMs);
    else await this.applyJournaledOrLog();
  }

  /** applyJournaled where a failure must not stop the writer: it is logged, and retried by the timer. */
  private applyJournaledOrLog(): Promise<void> {
    return this.applyJournaled().catch((err: Error) => this.log.error({ err }, 'applying the signal journal to the database failed'));
  }

  /**
   * Commits the journaled units to DuckDB, oldest first, in transactions of up to
   * maxRowsPerCommit rows. A transaction DuckDB refuses is retried unit by unit; a unit refused
   * alone is set aside in the journal's `rejected/` directory and logged, so that it cannot stop
   * every later write. If setting it aside fails too, applying stops and is retried later.
   */
  private async applyJournaled(): Promise<void> {
    while (this.journaled.length > 0) {
      let rows = 0;
      let count = 0;
      while (count < this.journaled.length && (count === 0 || rows + this.journaled[count]!.rows <= this.opts.maxRowsPerCommit)) {
        rows += this.journaled[count]!.rows;
        count++;
      }
      const units = this.journaled.slice(0, count);
      try {
        await this.commit(units, units.at(-1)!.seq);
        this.applied(count);
      } catch (err) {
        this.log.warn({ err, units: count }, 'applying journaled writes failed; retrying them one by one');
        try {
          for (const u of units) await this.applyAlone(u);
        } catch (setAsideErr) {
          this.applyStopped = true;
          this.scheduleApply(this.applyRetryMs);
          this.applyRetryMs = Math.min(30_000, this.applyRetryMs * 2);
          throw setAsideErr;
        }
      }
      this.applyRetryMs = APPLY_RETRY_MS;
      this.applyStopped = false;
    }
    if (this.applyTimer) clearTimeout(this.applyTimer);
    this.applyTimer = null;
    await this.opts.journal.dropApplied();
  }

  /** Commits the oldest journaled unit alone, or sets it aside if DuckDB refuses it. */
  private async applyAlone(unit: JournaledUnit): Promise<void> {
    try {
      await this.commit([unit], unit.seq);
    } catch (err) {
      const path = await this.opts.journal.setAside({ seq: unit.seq, batches: unit.batches });
      this.log.error({ err, seq: unit.seq, rows: unit.rows, path }, 'the database refused an acknowledged write; it was set aside in the journal');
      this.opts.onSetAside?.();
      await this.recordApplied(unit.seq);
    }
    this.applied(1);
  }

  /** Takes the oldest `count` journaled units off the list once DuckDB holds them. */
  private applied(count: number): void {
    const units = this.journaled.splice(0, count);
    for (const u of units) this.journaledRows -= u.rows;
  }

  /** Records `seq` as applied without rows (after a unit was set aside). */
  private async recordApplied(seq: number): Promise<void> {
    const statements = await this.prepared();
    await statements.begin.run();
    try {
      statements.applied.bindBigInt(1, BigInt(seq));
      await statements.applied.run();
      await statements.commit.run();
    } catch (err) {
      await this.opts.connection.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Commits a group of large units to DuckDB; if that fails, each unit alone, so that only a culprit fails. */
  private async commitGroup(group: readonly PendingWrite[]): Promise<void> {
    const done = (units: readonly PendingWrite[], err: Error | null): void => {
      if (err) {
        this.refuse(units, err);
        return;
      }
      for (const p of units) this.queuedRows -= p.rows;
      this.acknowledge(units);
    };
    try {
      await this.commit(group.map((p) => ({ batches: p.unit.batches, rows: p.rows })), null);
      done(group, null);
    } catch (err) {
      if (group.length === 1) {
        done(group, err as Error);
        return;
      }
      this.log.warn({ err, units: group.length }, 'group commit failed; retrying its units one by one');
      for (const p of group) {
        try {
          await this.commit([{ batches: p.unit.batches, rows: p.rows }], null);
          done([p], null);
        } catch (unitErr) {
          done([p], unitErr as Error);
        }
      }
    }
  }

  /** Rejects units that were not made durable; their rows leave the queue's count. */
  private refuse(units: readonly PendingWrite[], err: Error): void {
    for (const p of units) {
      this.queuedRows -= p.rows;
      p.reject(err);
    }
  }

  /** Resolves durable units after running their after-commit hooks. */
  private acknowledge(units: readonly PendingWrite[]): void {
    for (const p of units) {
      try {
        p.unit.afterCommit?.();
      } catch (hookErr) {
        this.log.error({ err: hookErr }, 'after-commit hook failed');
      }
      p.resolve();
    }
  }

  private async prepared(): Promise<{ begin: DuckDBPreparedStatement; commit: DuckDBPreparedStatement; applied: DuckDBPreparedStatement }> {
    const conn = this.opts.connection;
    this.statements ??= {
      begin: await conn.prepare('BEGIN TRANSACTION'),
      commit: await conn.prepare('COMMIT'),
      applied: await conn.prepare('UPDATE signal_journal SET applied_seq = $1'),
    };
    return this.statements;
  }

  /**
   * Appends the units' batches, table by table, in one DuckDB transaction, recording `appliedSeq`
   * (for journaled units) in the same transaction.
   */
  private async commit(units: readonly { readonly batches: readonly ColumnBatch[]; readonly rows: number }[], appliedSeq: number | null): Promise<void> {
    const started = performance.now();
    const byTable = new Map<TableSchema, ColumnBatch[]>();
    let rows = 0;
    for (const u of units) {
      rows += u.rows;
      for (const b of u.batches) {
        if (b.rowCount === 0) continue;
        const list = byTable.get(b.table);
        if (list) list.push(b);
        else byTable.set(b.table, [b]);
      }
    }
    const conn = this.opts.connection;
    const statements = await this.prepared();
    await statements.begin.run();
    try {
      for (const [table, batches] of byTable) {
        const appender = await this.appender(conn, table.name);
        appendColumnBatches(appender, table, batches);
        appender.flushSync();
      }
      if (appliedSeq !== null) {
        statements.applied.bindBigInt(1, BigInt(appliedSeq));
        await statements.applied.run();
      }
      await statements.commit.run();
    } catch (err) {
      this.dropAppenders();
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    this.opts.onCommit?.(rows, (performance.now() - started) / 1000);
  }
}
