/**
 * The embedded TSDB: head + WAL + blocks behind the MetricsStorage contract. Opening replays
 * the WAL; a maintenance loop cuts the head into blocks, checkpoints the WAL, compacts blocks
 * and applies retention. Without a directory it runs in memory (no WAL, no blocks).
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { MetricMetadata } from '../model/samples.js';
import type { HealthRegistry } from '../selfobs/health.js';
import type { Logger } from '../selfobs/logger.js';
import type { Appender, MetricsStorage, Querier, TsdbStatus } from '../storage/interfaces.js';
import { Block, CorruptBlockError } from './block.js';
import { checkpointSize, writeCheckpoint } from './checkpoint.js';
import { compactionRanges, mergeBlocks, planCompaction, writeHeadBlock } from './compactor.js';
import { lockDirectory } from '../storage/dir-lock.js';
import { BatchScratchPool, HeadAppender, type AppendLimits } from './head-appender.js';
import { HeadReplayer } from './head-replay.js';
import { Head } from './head.js';
import { createQuerier } from './querier.js';
import { TsdbMetrics } from './tsdb-metrics.js';
import { Wal, listWal, replayWal } from './wal.js';
import { isRecordType } from './wal-records.js';

/** Options of openTsdb; durations in ms, sizes in bytes (config: storage.tsdb.*, storage.retention.*). */
export interface TsdbOptions extends AppendLimits {
  /** Data directory; omitted for an in-memory store (no WAL, no blocks). */
  readonly dir?: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health?: HealthRegistry;
  readonly blockDurationMs: number;
  readonly retentionMs: number;
  /** 0 = unlimited. */
  readonly retentionBytes: number;
  readonly outOfOrderWindowMs: number;
  readonly walSegmentBytes: number;
  /** Clock for block names and the maintenance timer; defaults to Date.now. */
  readonly now?: () => number;
  /** How often maintenance runs, ms (default one minute). */
  readonly maintenanceIntervalMs?: number;
}

const BLOCK_NAME_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The embedded TSDB (see the module comment). */
export class Tsdb implements MetricsStorage {
  private readonly opts: TsdbOptions;
  private readonly logger: Logger;
  private readonly head: Head;
  private readonly metrics: TsdbMetrics;
  private readonly scratch = new BatchScratchPool();
  private readonly now: () => number;
  private wal: Wal | null = null;
  private walDir: string | null = null;
  private checkpointBytes = 0;
  private blocks: Block[] = [];
  /**
   * Blocks taken out of service (merged or past retention) but kept until the next maintenance
   * run, so queriers that listed them a moment ago can still read them.
   */
  private retired: Block[] = [];
  private unlock: (() => Promise<void>) | null = null;
  private state: 'starting' | 'ok' | 'closed' = 'starting';
  private timer: NodeJS.Timeout | null = null;
  /** Serialises maintenance runs. */
  private maintenance: Promise<void> = Promise.resolve();

  private constructor(opts: TsdbOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.head = new Head({ blockDurationMs: opts.blockDurationMs, outOfOrderWindowMs: opts.outOfOrderWindowMs });
    this.metrics = new TsdbMetrics(opts.registry, {
      headSeries: () => this.head.numSeries,
      headChunks: () => this.head.chunkCount(),
      walBytes: () => (this.wal?.sizeBytes ?? 0) + this.checkpointBytes,
      blocksLoaded: () => this.blocks.length,
      blocksBytes: () => this.blocksBytes(),
      headMinTime: () => (Number.isFinite(this.head.minT) ? this.head.minT : 0),
      headMaxTime: () => (Number.isFinite(this.head.maxT) ? this.head.maxT : 0),
    });
    opts.health?.register('tsdb', () => {
      const walFailure = this.wal?.failure ?? null;
      if (walFailure !== null) return { status: 'failing', details: { error: `WAL write failed: ${walFailure.message}` } };
      return { status: this.state === 'ok' ? 'ok' : this.state === 'closed' ? 'stopping' : 'starting', details: { series: this.head.numSeries, blocks: this.blocks.length } };
    });
  }

  /** Opens (creating if needed) the store, loading blocks and replaying the WAL. */
  static async open(opts: TsdbOptions): Promise<Tsdb> {
    const db = new Tsdb(opts);
    if (opts.dir !== undefined) await db.load(opts.dir);
    db.state = 'ok';
    // Failures are logged by compact(); the timer only needs to keep going.
    db.timer = setInterval(() => void db.compact().catch(() => undefined), opts.maintenanceIntervalMs ?? 60_000);
    db.timer.unref();
    return db;
  }

  private async load(dir: string): Promise<void> {
    const started = performance.now();
    await mkdir(dir, { recursive: true });
    this.unlock = await lockDirectory(dir);
    this.walDir = join(dir, 'wal');
    await mkdir(this.walDir, { recursive: true });
    await this.loadBlocks(dir);
    if (this.blocks.length > 0) this.head.minValidTime = this.blocks[this.blocks.length - 1]!.maxT;
    const replayer = new HeadReplayer(this.head);
    this.head.replaying = true;
    const result = await replayWal(this.walDir, this.logger, this.metrics, isRecordType, (type, payload) => replayer.apply(type, payload));
    this.head.replaying = false;
    if (replayer.unknownRefs > 0) this.logger.warn({ samples: replayer.unknownRefs }, 'WAL samples referenced unknown series and were skipped');
    this.checkpointBytes = await checkpointSize(this.walDir, (await listWal(this.walDir)).checkpoint);
    this.wal = await Wal.create(
      { dir: this.walDir, segmentBytes: this.opts.walSegmentBytes, logger: this.logger, metrics: this.metrics },
      result.lastSegment,
    );
    this.logger.info(
      {
        blocks: this.blocks.length,
        series: this.head.numSeries,
        samples: replayer.samples,
        records: result.records,
        ms: Math.round(performance.now() - started),
      },
      'TSDB opened',
    );
  }

  private async loadBlocks(dir: string): Promise<void> {
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) {
        await rm(join(dir, name), { recursive: true, force: true });
        continue;
      }
      if (!BLOCK_NAME_RE.test(name)) continue;
      try {
        this.blocks.push(await Block.open(join(dir, name)));
      } catch (err) {
        if (!(err instanceof CorruptBlockError)) throw err;
        await this.quarantine(join(dir, name), err);
      }
    }
    this.blocks.sort((a, b) => a.minT - b.minT);
    await this.dropMergedSources();
  }

  /**
   * Deletes blocks already merged into a newer block (a crash between writing a compacted block
   * and deleting its sources leaves both).
   */
  private async dropMergedSources(): Promise<void> {
    const redundant = this.blocks.filter((b) =>
      this.blocks.some(
        (c) => c !== b && c.meta.compaction.level > b.meta.compaction.level && b.meta.compaction.sources.every((u) => c.meta.compaction.sources.includes(u)),
      ),
    );
    for (const b of redundant) {
      this.logger.info({ block: b.dir }, 'deleting a block already merged into a newer one');
      await b.close();
      await rm(b.dir, { recursive: true, force: true });
    }
    this.blocks = this.blocks.filter((b) => !redundant.includes(b));
  }

  private async quarantine(blockDir: string, err: Error): Promise<void> {
    this.metrics.blockCorruptions.inc();
    this.logger.error({ block: blockDir, err: err.message }, 'corrupt block quarantined; its data is not served');
    await rename(blockDir, `${blockDir}.corrupt`).catch((e: unknown) => this.logger.error({ err: e }, 'could not quarantine block'));
  }

  private blocksBytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.sizeBytes;
    return n;
  }

  appender(): Appender {
    return new HeadAppender({ head: this.head, limits: this.opts, metrics: this.metrics, wal: this.wal, scratch: this.scratch });
  }

  querier(mint: number, maxt: number): Querier {
    return createQuerier(
      {
        head: this.head,
        blocks: this.blocks.slice(),
        onCorrupt: (block, err) => {
          if (!(err instanceof CorruptBlockError)) {
            this.logger.error({ block: block.dir, err }, 'block read failed');
            return;
          }
          if (!this.blocks.includes(block)) return;
          this.blocks = this.blocks.filter((b) => b !== block);
          void block
            .close()
            .then(() => this.quarantine(block.dir, err))
            .catch((e: unknown) => this.logger.error({ err: e, block: block.dir }, 'could not close corrupt block'));
        },
      },
      mint,
      maxt,
    );
  }

  metadata(metric?: string, limit?: number): Map<string, MetricMetadata[]> {
    const out = new Map<string, MetricMetadata[]>();
    if (metric !== undefined) {
      const m = this.head.metadata.get(metric);
      if (m !== undefined && limit !== 0) out.set(metric, [m]);
      return out;
    }
    for (const [name, m] of this.head.metadata) {
      if (limit !== undefined && limit >= 0 && out.size >= limit) break;
      out.set(name, [m]);
    }
    return out;
  }

  status(limit: number): TsdbStatus {
    return this.head.status(limit);
  }

  /**
   * Runs maintenance now (also run by the timer): cuts head ranges into blocks, truncates the
   * head and checkpoints the WAL, compacts blocks, applies retention. Runs are serialised.
   */
  compact(): Promise<void> {
    const run = this.maintenance.then(() => this.runMaintenance());
    this.maintenance = run.catch((err: unknown) => this.logger.error({ err }, 'TSDB maintenance failed'));
    return run;
  }

  private async runMaintenance(): Promise<void> {
    if (this.state !== 'ok') return;
    await this.deleteRetired();
    const dir = this.opts.dir;
    if (dir === undefined) {
      const cutoff = this.head.maxT - this.opts.retentionMs;
      if (Number.isFinite(cutoff) && cutoff > this.head.minT) this.metrics.seriesRemoved.inc(this.head.truncate(cutoff));
      return;
    }
    await this.cutHead(dir);
    // Between block cuts the WAL holds every sample uncompressed; a checkpoint (the head's
    // compressed chunks) lets its segments go once they outweigh it.
    const wal = this.wal;
    if (wal !== null && wal.sizeBytes > Math.max(2 * this.opts.walSegmentBytes, 2 * this.checkpointBytes)) await this.checkpoint();
    await this.compactBlocks(dir);
    await this.applyRetention();
  }

  /** Cuts blocks while the head spans more than 1.5 block ranges (Prometheus's rule). */
  private async cutHead(dir: string): Promise<void> {
    const bd = this.opts.blockDurationMs;
    let cut = false;
    for (let i = 0; i < 1000 && this.head.maxT - this.head.minT > bd * 1.5; i++) {
      const mint = Math.floor(this.head.minT / bd) * bd;
      const maxt = mint + bd;
      // Close the range to appends first: a sample landing in it while the block is written
      // would be in neither the block nor, after truncation, the head.
      if (maxt > this.head.minValidTime) this.head.minValidTime = maxt;
      const end = this.metrics.compactionDuration.startTimer();
      const meta = await writeHeadBlock(dir, this.head, mint, maxt, this.now());
      end();
      if (meta !== null) {
        this.blocks.push(await Block.open(join(dir, meta.ulid)));
        this.blocks.sort((a, b) => a.minT - b.minT);
        this.metrics.compactions.inc({ kind: 'head' });
        this.logger.info({ block: meta.ulid, minTime: mint, maxTime: maxt, series: meta.stats.numSeries, samples: meta.stats.numSamples }, 'head block written');
      }
      this.metrics.seriesRemoved.inc(this.head.truncate(maxt));
      cut = true;
    }
    if (cut) await this.checkpoint();
  }

  /** Snapshots the head into a WAL checkpoint and drops the segments it covers. */
  private async checkpoint(): Promise<void> {
    const wal = this.wal;
    if (wal === null || this.walDir === null) return;
    const upTo = await wal.rotate();
    this.checkpointBytes = await writeCheckpoint(this.walDir, this.head, upTo);
    await wal.deleteSegmentsUpTo(upTo);
    this.metrics.checkpoints.inc();
  }

  private async compactBlocks(dir: string): Promise<void> {
    const ranges = compactionRanges(this.opts.blockDurationMs, this.opts.retentionMs);
    for (let i = 0; i < 100; i++) {
      const plan = planCompaction(this.blocks, ranges);
      if (plan === null) return;
      const end = this.metrics.compactionDuration.startTimer();
      let meta;
      try {
        meta = await mergeBlocks(dir, plan, this.now());
      } catch (err) {
        const bad = plan.find((b) => (err as Error).message.includes(b.dir));
        if (err instanceof CorruptBlockError && bad !== undefined) {
          this.blocks = this.blocks.filter((b) => b !== bad);
          await bad.close();
          await this.quarantine(bad.dir, err);
          continue;
        }
        throw err;
      }
      end();
      const merged = await Block.open(join(dir, meta.ulid));
      this.blocks = [...this.blocks.filter((b) => !plan.includes(b)), merged].sort((a, b) => a.minT - b.minT);
      this.retired.push(...plan);
      this.metrics.compactions.inc({ kind: 'merge' });
      this.logger.info({ block: meta.ulid, sources: plan.length, minTime: meta.minTime, maxTime: meta.maxTime }, 'blocks compacted');
    }
  }

  /** Deletes blocks entirely older than the retention period, then oldest blocks beyond the size limit. */
  private async applyRetention(): Promise<void> {
    const newest = Math.max(this.head.maxT, this.blocks.length > 0 ? this.blocks[this.blocks.length - 1]!.maxT : -Infinity);
    const doomed: [Block, 'time' | 'size'][] = [];
    if (Number.isFinite(newest)) {
      for (const b of this.blocks) if (b.maxT <= newest - this.opts.retentionMs) doomed.push([b, 'time']);
    }
    if (this.opts.retentionBytes > 0) {
      let total = this.blocksBytes() + (this.wal?.sizeBytes ?? 0) + this.checkpointBytes;
      for (const b of this.blocks) {
        if (doomed.some(([d]) => d === b)) {
          total -= b.sizeBytes;
          continue;
        }
        if (total <= this.opts.retentionBytes) break;
        doomed.push([b, 'size']);
        total -= b.sizeBytes;
      }
    }
    for (const [b, reason] of doomed) {
      this.blocks = this.blocks.filter((x) => x !== b);
      this.retired.push(b);
      this.metrics.retentionDeletions.inc({ reason });
      this.logger.info({ block: b.dir, reason }, 'block deleted by retention');
    }
  }

  /** Closes and deletes retired blocks (waiting for reads in flight). */
  private async deleteRetired(): Promise<void> {
    const retired = this.retired;
    this.retired = [];
    for (const b of retired) {
      await b.close();
      await rm(b.dir, { recursive: true, force: true });
    }
  }

  /** Stops maintenance, flushes the WAL, writes a checkpoint (fast restart) and closes files. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    // From here on maintenance runs are no-ops and health reports "stopping".
    this.state = 'closed';
    if (this.timer !== null) clearInterval(this.timer);
    await this.maintenance;
    if (this.wal !== null) {
      await this.checkpoint().catch((err: unknown) => this.logger.error({ err }, 'checkpoint on close failed'));
      await this.wal.close();
    }
    for (const b of this.blocks) await b.close();
    await this.deleteRetired();
    if (this.unlock !== null) await this.unlock();
    this.opts.health?.unregister('tsdb');
  }
}
