/**
 * The contract between log storage backends (the embedded DuckDB store now, ClickHouse later) and
 * everything that writes or reads logs: ingest routes, LogQL and the Loki API. Times are
 * nanoseconds since the epoch (bigint); ranges are [startNs, endNs) unless stated otherwise.
 * Regular expressions follow RE2 syntax (Loki's, DuckDB's and ClickHouse's), unanchored.
 */
import type { Labels } from '../model/labels.js';
import type { LogRecord, StoredLogRecord } from '../model/log-record.js';
import type { Matcher } from '../model/matchers.js';
import type { LogColumns } from './log-columns.js';

/** A line filter the backend evaluates on the body: substring (case-sensitive) or RE2 regex. */
export interface LineFilter {
  readonly op: 'contains' | 'not_contains' | 'regex' | 'not_regex';
  readonly value: string;
}

/**
 * Exact-match filters on the dedicated columns; every given field must match. Backends may match
 * request and trace ids by a 53-bit hash in aggregate queries (countBuckets): a collision, about
 * one in 10^9 lookups over 10M lines, would count a foreign line.
 */
export interface FieldFilter {
  /** The line's level: its stream's `level` label when it has one, else the record's level. */
  readonly level?: string;
  readonly requestId?: string;
  readonly traceId?: string;
  readonly spanId?: string;
}

/** Which lines a read covers. */
export interface LogFilter {
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Stream label matchers (Loki stream selector); empty means every stream. */
  readonly matchers: readonly Matcher[];
  readonly lineFilters?: readonly LineFilter[];
  readonly fields?: FieldFilter;
}

export interface LogSelectQuery extends LogFilter {
  /** 'backward': newest first (Loki's default); 'forward': oldest first. */
  readonly direction: 'backward' | 'forward';
  readonly limit: number;
  /** Continue after this line (exclusive), for paging through equal timestamps: [timeNs, seq]. */
  readonly after?: { readonly timeNs: bigint; readonly seq: bigint };
}

/**
 * Line counts and bytes per (stream, level, bucket): bucket b covers (originNs + (b-1)·widthNs,
 * originNs + b·widthNs], end-inclusive as Loki's range vectors are. Columnar, one entry per
 * non-empty cell.
 */
export interface LogBucketCounts {
  readonly streams: readonly Labels[];
  /** Index into `streams` per cell. */
  readonly streamIndex: Int32Array;
  /** The line's level per cell ('' when none). */
  readonly level: readonly string[];
  readonly bucket: Int32Array;
  readonly count: Float64Array;
  readonly bytes: Float64Array;
}

export interface LogBucketQuery extends Omit<LogFilter, 'startNs' | 'endNs'> {
  readonly originNs: bigint;
  readonly widthNs: bigint;
  /** Buckets 1..bucketCount are returned (lines in (originNs, originNs + bucketCount·widthNs]). */
  readonly bucketCount: number;
  /** Whether to sum the lines' bytes (reading every line's text costs far more than counting); zeros otherwise. */
  readonly bytes?: boolean;
}

/** A live-tail listener: receives each committed batch's lines that match the subscription's matchers. */
export type LogTailListener = (records: readonly StoredLogRecord[]) => void;

export interface LogStoreStats {
  readonly lines: number;
  readonly streams: number;
}

/** Storage of log lines. Implementations are safe for concurrent use. */
export interface LogStore {
  /**
   * Appends lines; resolves once they are durable. Rejects with StoreOverloadedError (retry
   * later) when the write queue is full and with StoreClosedError after close.
   */
  append(records: readonly LogRecord[]): Promise<void>;
  /** Appends a batch already in columns (decoded off the event loop); same contract as append. */
  appendColumns(batch: LogColumns): Promise<void>;
  /** Lines matching the filter, ordered by (time, seq) in the given direction, at most `limit`. */
  select(query: LogSelectQuery): Promise<StoredLogRecord[]>;
  /** Counts and bytes per stream, level and time bucket (metric queries, volume histograms). */
  countBuckets(query: LogBucketQuery): Promise<LogBucketCounts>;
  /** Label sets of the streams with lines in the filter's range that match its matchers. */
  series(filter: LogFilter): Promise<Labels[]>;
  /** Stream label names seen in the range, sorted. */
  labelNames(startNs: bigint, endNs: bigint): Promise<string[]>;
  /** Values of one stream label in the range (optionally among streams matching `matchers`), sorted. */
  labelValues(name: string, startNs: bigint, endNs: bigint, matchers?: readonly Matcher[]): Promise<string[]>;
  /** Up to `before` lines preceding and `after` lines following the line `seq` in its stream, in time order. */
  context(seq: bigint, before: number, after: number): Promise<{ before: StoredLogRecord[]; line: StoredLogRecord | null; after: StoredLogRecord[] }>;
  /** Subscribes to newly committed lines of streams matching `matchers`; returns the unsubscribe function. */
  tail(matchers: readonly Matcher[], listener: LogTailListener): () => void;
  stats(): Promise<LogStoreStats>;
}
