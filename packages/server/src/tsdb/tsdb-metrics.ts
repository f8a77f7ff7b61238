/** The TSDB's self metrics, named after Prometheus's prometheus_tsdb_* families. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Live values the gauges read when /metrics is scraped. */
export interface TsdbGaugeSources {
  headSeries(): number;
  headChunks(): number;
  walBytes(): number;
  blocksLoaded(): number;
  blocksBytes(): number;
  headMinTime(): number;
  headMaxTime(): number;
}

/** The counters, gauges and histograms of one TSDB, registered on the given registry. */
export class TsdbMetrics {
  readonly samplesAppended: Counter;
  readonly samplesRejected: Counter<'reason'>;
  readonly seriesCreated: Counter;
  readonly seriesRemoved: Counter;
  readonly walFsyncDuration: Histogram;
  readonly walCorruptions: Counter;
  readonly walWriteFailures: Counter;
  readonly checkpoints: Counter;
  readonly compactionDuration: Histogram;
  readonly compactions: Counter<'kind'>;
  readonly blockCorruptions: Counter;
  readonly retentionDeletions: Counter<'reason'>;

  constructor(registry: Registry, sources: TsdbGaugeSources) {
    const registers = [registry];
    this.samplesAppended = new Counter({
      name: 'watchkeeper_tsdb_head_samples_appended_total',
      help: 'Samples appended to the head.',
      registers,
    });
    this.samplesRejected = new Counter({
      name: 'watchkeeper_tsdb_samples_rejected_total',
      help: 'Samples rejected on append, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.seriesCreated = new Counter({ name: 'watchkeeper_tsdb_head_series_created_total', help: 'Series created in the head.', registers });
    this.seriesRemoved = new Counter({
      name: 'watchkeeper_tsdb_head_series_removed_total',
      help: 'Series removed from the head by truncation (inactive series).',
      registers,
    });
    this.walFsyncDuration = new Histogram({
      name: 'watchkeeper_tsdb_wal_fsync_duration_seconds',
      help: 'Duration of WAL fsyncs (one per group commit).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.walCorruptions = new Counter({
      name: 'watchkeeper_tsdb_wal_corruptions_total',
      help: 'Corrupt or torn WAL tails found (and truncated) on replay.',
      registers,
    });
    this.walWriteFailures = new Counter({
      name: 'watchkeeper_tsdb_wal_write_failures_total',
      help: 'Failed WAL writes or fsyncs (the commits affected were rejected).',
      registers,
    });
    this.checkpoints = new Counter({ name: 'watchkeeper_tsdb_checkpoints_total', help: 'WAL checkpoints written.', registers });
    this.compactionDuration = new Histogram({
      name: 'watchkeeper_tsdb_compaction_duration_seconds',
      help: 'Duration of head-to-block cuts and block compactions.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.compactions = new Counter({
      name: 'watchkeeper_tsdb_compactions_total',
      help: 'Blocks written, by kind (head or merge).',
      labelNames: ['kind'],
      registers,
    });
    this.blockCorruptions = new Counter({
      name: 'watchkeeper_tsdb_block_corruptions_total',
      help: 'Corrupt blocks found and quarantined.',
      registers,
    });
    this.retentionDeletions = new Counter({
      name: 'watchkeeper_tsdb_retention_deletions_total',
      help: 'Blocks deleted by retention, by reason (time or size).',
      labelNames: ['reason'],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('watchkeeper_tsdb_head_series', 'Series in the head.', sources.headSeries);
    gauge('watchkeeper_tsdb_head_chunks', 'Chunks in the head.', sources.headChunks);
    gauge('watchkeeper_tsdb_head_min_time', 'Oldest sample time in the head (ms).', sources.headMinTime);
    gauge('watchkeeper_tsdb_head_max_time', 'Newest sample time in the head (ms).', sources.headMaxTime);
    gauge('watchkeeper_tsdb_wal_size_bytes', 'Bytes in WAL segments and checkpoint.', sources.walBytes);
    gauge('watchkeeper_tsdb_blocks_loaded', 'Persisted blocks loaded.', sources.blocksLoaded);
    gauge('watchkeeper_tsdb_storage_blocks_bytes', 'Bytes used by persisted blocks.', sources.blocksBytes);
  }
}
