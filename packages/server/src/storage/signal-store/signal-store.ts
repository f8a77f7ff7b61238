/**
 * The embedded store of logs, traces and errors: one DuckDB database file under the data dir
 * (`<dataDir>/signals/signals.duckdb`), shared by every signal so a trace's logs and errors can be
 * joined in one query.
 *
 * Durability: all writes go through one group-commit queue (write-queue.ts). Small writes are
 * acknowledged once the store's journal (journal.ts, `<dir>/journal/`) has them fsynced, and reach
 * DuckDB in larger transactions shortly after, before any read; large writes are acknowledged once
 * their DuckDB COMMIT returned, which writes and fsyncs DuckDB's WAL (verified with strace on
 * DuckDB 1.5). On open, DuckDB replays its WAL and the store then applies the journal records the
 * database lacks, so an acknowledged write survives a process crash or power loss (given a disk
 * that honours fsync). DuckDB checkpoints the WAL into the database file once it exceeds
 * `checkpoint_threshold` and on close.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HealthRegistry } from '../../selfobs/health.js';
import type { LogStore } from '../log-store.js';
import { DuckDBLogStore } from './duckdb-log-store.js';
import { ReadPool } from './read-pool.js';
import type { TableSchema } from './table-schema.js';
import type { WalMetrics } from '../../tsdb/wal.js';
import { Journal } from './journal.js';
import { JOURNAL_STATE_DDL, WriteQueue, type WriteUnit } from './write-queue.js';

const DEFAULT_CHECKPOINT_THRESHOLD_BYTES = 128 * 1024 * 1024;
const DEFAULT_COMMIT_DELAY_MS = 3;
const DEFAULT_APPLY_DELAY_MS = 100;

export interface SignalStoreOptions {
  /** Directory of the database file (created if missing), e.g. `<data_dir>/signals`. */
  readonly dir: string;
  readonly logger: Logger;
  /** Registry for the watchkeeper_signal_store_* metrics. */
  readonly registry: Registry;
  readonly health?: HealthRegistry;
  /** Retention per signal in milliseconds (config `storage.retention.*`); 0 keeps data forever. */
  readonly retention: { readonly logsMs: number; readonly tracesMs: number; readonly errorsMs: number };
  /** Clock in Unix milliseconds; injectable for retention tests. */
  readonly now?: () => number;
  /** How often retention runs, ms. Default 60 s. */
  readonly retentionIntervalMs?: number;
  /** Rows that may wait for the writer before appends answer "overloaded". Default 1,000,000. */
  readonly maxQueuedRows?: number;
  /** Rows per group commit. Default 200,000. */
  readonly maxRowsPerCommit?: number;
  /** The writer's wait for more concurrent writes before gathering a group (write-queue.ts). Default 3 ms. */
  readonly commitDelayMs?: number;
  /**
   * How long acknowledged small writes may wait in the journal before their DuckDB transaction when
   * nothing reads them (write-queue.ts). Default 100 ms.
   */
  readonly applyDelayMs?: number;
  /** DuckDB memory limit, e.g. "2GB". Default "2GB". */
  readonly memoryLimit?: string;
  /**
   * WAL size in bytes that triggers a checkpoint; default 128 MiB. DuckDB's own 16MB default
   * checkpoints every ~60k log lines and rewrites each partly filled row group several times:
   * measured, twice the commit-and-checkpoint CPU and a file 1.7 times larger (freed blocks). A
   * larger WAL costs memory until the checkpoint and replay time after a crash.
   */
  readonly checkpointThresholdBytes?: number;
  /** Read connections. Default 4. */
  readonly readConnections?: number;
}

/** Called inside the retention pass, on the write connection, after time-based deletes. */
export type RetentionHook = (conn: DuckDBConnection) => Promise<void>;

interface RetainedTable {
  readonly table: TableSchema;
  readonly retentionMs: number;
}

/** The open store. `logs` is ready; traces and errors register their tables with `ensureTables`. */
export class SignalStore {
  readonly logs: LogStore;
  private readonly retained: RetainedTable[] = [];
  private readonly retentionHooks: RetentionHook[] = [];
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionRunning: Promise<void> | null = null;
  private lastRetentionError: string | null = null;
  private closed = false;
  private readonly retentionDeleted: Counter<'table'>;

  private constructor(
    private readonly opts: SignalStoreOptions,
    private readonly instance: DuckDBInstance,
    private readonly writeConn: DuckDBConnection,
    /** The group-commit queue every signal writes through. */
    readonly writes: WriteQueue,
    /** Read connections for queries. */
    readonly reads: ReadPool,
    logStore: DuckDBLogStore,
  ) {
    this.logs = logStore;
    this.retentionDeleted = storeMetrics(opts.registry).retentionDeleted;
  }

  /** Opens (creating or migrating) the database and starts background retention. */
  static async open(opts: SignalStoreOptions): Promise<SignalStore> {
    mkdirSync(opts.dir, { recursive: true });
    const path = join(opts.dir, 'signals.duckdb');
    const checkpointThresholdBytes = opts.checkpointThresholdBytes ?? DEFAULT_CHECKPOINT_THRESHOLD_BYTES;
    const instance = await DuckDBInstance.create(path, { memory_limit: opts.memoryLimit ?? '2GB', checkpoint_threshold: `${checkpointThresholdBytes}B` });
    const writeConn = await instance.connect();
    const log = opts.logger.child({ component: 'signal-store' });
    const metrics = storeMetrics(opts.registry);
    await writeConn.run('CREATE TABLE IF NOT EXISTS signal_schema (table_name VARCHAR PRIMARY KEY, version INTEGER NOT NULL)');
    for (const ddl of JOURNAL_STATE_DDL) await writeConn.run(ddl);
    const appliedSeq = Number((await writeConn.runAndReadAll('SELECT applied_seq FROM signal_journal')).getRows()[0]?.[0] ?? 0);
    const { journal, unapplied } = await Journal.open({ dir: join(opts.dir, 'journal'), appliedSeq, logger: log, metrics: metrics.journal });
    const writes = new WriteQueue({
      connection: writeConn,
      logger: log,
      journal,
      maxQueuedRows: opts.maxQueuedRows ?? 1_000_000,
      maxRowsPerCommit: opts.maxRowsPerCommit ?? 200_000,
      commitDelayMs: opts.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
      applyDelayMs: opts.applyDelayMs ?? DEFAULT_APPLY_DELAY_MS,
      onCommit: (rows, seconds) => {
        metrics.commits.inc();
        metrics.rows.inc(rows);
        metrics.commitSeconds.observe(seconds);
      },
      onSetAside: () => metrics.setAside.inc(),
    });
    // Before the signals load their caches (stream ids, issues) from the tables.
    await writes.replay(unapplied);
    const reads = await ReadPool.open(instance, opts.readConnections ?? 4, () => writes.visible());
    const logStore = await DuckDBLogStore.open({ writes, reads, writeConn, migrate: (t) => migrate(writeConn, t) });
    const store = new SignalStore(opts, instance, writeConn, writes, reads, logStore);
    metrics.backlogSource.rows = () => writes.backlogRows;
    store.register(logStore.tables(), opts.retention.logsMs, logStore.retentionHook());
    opts.health?.register('signal-store', () => store.healthReport());
    store.retentionTimer = setInterval(() => void store.runRetention(), opts.retentionIntervalMs ?? 60_000);
    store.retentionTimer.unref();
    log.info({ path }, 'signal store open');
    return store;
  }

  /**
   * Creates or migrates a signal's tables and puts those with a time column under retention
   * (`retentionMs`, 0 for none). For traces and errors: call once at startup.
   */
  async ensureTables(tables: readonly TableSchema[], retentionMs: number, hook?: RetentionHook): Promise<void> {
    for (const t of tables) await this.writes.exclusive((conn) => migrate(conn, t));
    this.register(tables, retentionMs, hook);
  }

  private register(tables: readonly TableSchema[], retentionMs: number, hook?: RetentionHook): void {
    for (const table of tables) if (table.timeColumn !== null && retentionMs > 0) this.retained.push({ table, retentionMs });
    if (hook) this.retentionHooks.push(hook);
  }

  /** Submits a write unit to the group-commit queue; resolves when durable. */
  write(unit: WriteUnit): Promise<void> {
    return this.writes.submit(unit);
  }

  /**
   * Deletes rows older than each table's retention (by its time column, against the injected
   * clock), then runs the retention hooks. Runs between commits on the write connection.
   */
  runRetention(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.retentionRunning) return this.retentionRunning;
    const nowMs = (this.opts.now ?? Date.now)();
    this.retentionRunning = this.writes
      .exclusive(async (conn) => {
        for (const { table, retentionMs } of this.retained) {
          const cutoffNs = BigInt(Math.floor(nowMs - retentionMs)) * 1_000_000n;
          const result = await conn.run(`DELETE FROM ${table.name} WHERE ${table.timeColumn} < $1`, [cutoffNs]);
          if (result.rowsChanged > 0) this.retentionDeleted.inc({ table: table.name }, result.rowsChanged);
        }
        for (const hook of this.retentionHooks) await hook(conn);
      })
      .then(
        () => {
          this.lastRetentionError = null;
        },
        (err: Error) => {
          this.lastRetentionError = err.message;
          this.opts.logger.error({ err }, 'signal store retention failed');
        },
      )
      .finally(() => {
        this.retentionRunning = null;
      });
    return this.retentionRunning;
  }

  private healthReport(): { status: 'ok' | 'failing' | 'stopping'; details: Record<string, unknown> } {
    if (this.closed) return { status: 'stopping', details: {} };
    const failing = this.lastRetentionError !== null || this.writes.applyFailing;
    return {
      status: failing ? 'failing' : 'ok',
      details: {
        backlog_rows: this.writes.backlogRows,
        ...(this.lastRetentionError ? { retention_error: this.lastRetentionError } : {}),
        ...(this.writes.applyFailing ? { journal_apply_error: 'journaled writes cannot be moved into the database; see the log' } : {}),
      },
    };
  }

  /** Waits for queued writes, checkpoints and closes the database. Writes after close are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.retentionRunning) await this.retentionRunning;
    await this.writes.close();
    try {
      await this.writeConn.run('CHECKPOINT');
    } catch (err) {
      this.opts.logger.warn({ err }, 'signal store checkpoint on close failed; the WAL is replayed on next open');
    }
    this.reads.closeAll();
    this.writeConn.closeSync();
    this.instance.closeSync();
    this.opts.health?.unregister('signal-store');
  }
}

/** Opens the signal store: see SignalStore.open. */
export function openSignalStore(opts: SignalStoreOptions): Promise<SignalStore> {
  return SignalStore.open(opts);
}

/** Applies a table's missing migrations, recording its version in `signal_schema`. */
async function migrate(conn: DuckDBConnection, table: TableSchema): Promise<void> {
  const reader = await conn.runAndReadAll('SELECT version FROM signal_schema WHERE table_name = $1', [table.name]);
  const row = reader.getRows()[0];
  const current = row ? Number(row[0]) : 0;
  if (current > table.migrations.length) {
    throw new Error(`table ${table.name} has schema version ${current}, newer than this Watchkeeper knows (${table.migrations.length}); upgrade Watchkeeper`);
  }
  for (let v = current; v < table.migrations.length; v++) {
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run(table.migrations[v]!);
      await conn.run('INSERT OR REPLACE INTO signal_schema VALUES ($1, $2)', [table.name, v + 1]);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

interface StoreMetrics {
  readonly commits: Counter;
  readonly rows: Counter;
  readonly commitSeconds: Histogram;
  /** The queue whose backlog the gauge reports (the latest store opened on the registry). */
  readonly backlogSource: { rows: () => number };
  readonly backlog: Gauge;
  readonly retentionDeleted: Counter<'table'>;
  readonly setAside: Counter;
  readonly journal: WalMetrics;
}

const metricsByRegistry = new WeakMap<Registry, StoreMetrics>();

function storeMetrics(registry: Registry): StoreMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const backlogSource = { rows: () => 0 };
  const m: StoreMetrics = {
    commits: new Counter({ name: 'watchkeeper_signal_store_commits_total', help: 'Group commits of the signal store.', registers }),
    rows: new Counter({ name: 'watchkeeper_signal_store_rows_written_total', help: 'Rows committed to the signal store.', registers }),
    commitSeconds: new Histogram({
      name: 'watchkeeper_signal_store_commit_duration_seconds',
      help: 'Duration of signal store group commits (append plus durable COMMIT).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    backlogSource,
    backlog: new Gauge({
      name: 'watchkeeper_signal_store_queue_rows',
      help: 'Rows waiting in the signal store write queue.',
      registers,
      collect() {
        this.set(backlogSource.rows());
      },
    }),
    journal: {
      walFsyncDuration: new Histogram({
        name: 'watchkeeper_signal_store_journal_fsync_duration_seconds',
        help: "Duration of the signal store journal's fdatasyncs (one per group of small writes).",
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
        registers,
      }),
      walCorruptions: new Counter({
        name: 'watchkeeper_signal_store_journal_corruptions_total',
        help: 'Torn or corrupt signal store journal records found on replay.',
        registers,
      }),
      walWriteFailures: new Counter({
        name: 'watchkeeper_signal_store_journal_write_failures_total',
        help: 'Failed signal store journal writes (the affected writes are refused).',
        registers,
      }),
    },
    setAside: new Counter({
      name: 'watchkeeper_signal_store_set_aside_writes_total',
      help: 'Acknowledged writes the database refused, kept in the journal directory rejected/ instead (see the log).',
      registers,
    }),
    retentionDeleted: new Counter({
      name: 'watchkeeper_signal_store_retention_deleted_rows_total',
      help: 'Rows deleted by retention from the signal store, by table.',
      labelNames: ['table'],
      registers,
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}
