/**
 * The contracts between storage backends and everything that reads or writes metrics.
 * `promql/`, `rules/`, `scrape/`, `ingest/` and `api/` use only these; the embedded TSDB
 * (and later ClickHouse) implements them. All times are Unix milliseconds (integers held in
 * a JS number); values are float64.
 */
import type { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matchers.js';
import type { MetricMetadata } from '../model/samples.js';

/** Opaque per-backend handle of a series, valid for the lifetime of the storage. 0 means "unknown". */
export type SeriesRef = number;

/** Why a sample was not appended. Each code maps to a rejection counter and a client-facing message. */
export type AppendErrorCode =
  | 'out_of_order'
  | 'duplicate_sample_for_timestamp'
  | 'too_old'
  | 'out_of_bounds'
  | 'label_name_too_long'
  | 'label_value_too_long'
  | 'invalid_labels'
  | 'too_many_series';

export class AppendError extends Error {
  override readonly name = 'AppendError';
  constructor(
    readonly code: AppendErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A batch of writes. Not safe for concurrent use; obtain one per batch from `Appendable.appender()`.
 * Nothing is visible to queriers or durable until `commit()` resolves.
 */
export interface Appender {
  /**
   * Adds one float sample. `ref` is a ref returned earlier for the same labels, or 0. Labels must
   * be sorted and valid (see model/labels). Returns the series ref to reuse for these labels.
   * Throws AppendError when the sample is rejected; the rest of the batch is unaffected.
   */
  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef;
  /** Records metric-family metadata (HELP/TYPE/UNIT) for a metric name. */
  updateMetadata(metricName: string, metadata: MetricMetadata): void;
  /** Makes the batch durable (written to the WAL and synced) and visible. Resolves once acknowledged. */
  commit(): Promise<void>;
  /** Discards the batch. */
  rollback(): void;
}

export interface Appendable {
  appender(): Appender;
}

/** Hints that let a backend narrow what it loads; the backend may ignore them. */
export interface SelectHints {
  /** Inclusive start of the data needed, ms. */
  readonly start: number;
  /** Inclusive end of the data needed, ms. */
  readonly end: number;
  /** Query step in ms, 0 for instant queries. */
  readonly step?: number;
  /** Surrounding function name, e.g. "rate". */
  readonly func?: string;
  /** Range of the range selector in ms, 0 for instant selectors. */
  readonly range?: number;
}

/**
 * One series' samples within the selected time range, decoded into typed arrays the caller owns.
 * `timestamps` is strictly increasing; both arrays have `length` valid entries.
 */
export interface SeriesData {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/** Reads series over a fixed time range [mint, maxt] chosen when the querier was created. */
export interface Querier {
  /** Series matching all matchers (at least one must not match ""), sorted by labels, with samples in range. */
  select(matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]>;
  /** Label sets only (no samples) of matching series, sorted by labels. */
  series(matchers: readonly Matcher[]): Promise<Labels[]>;
  /** Sorted label names of series matching the matchers (all series when none given). */
  labelNames(matchers: readonly Matcher[]): Promise<string[]>;
  /** Sorted values of a label among series matching the matchers. */
  labelValues(name: string, matchers: readonly Matcher[]): Promise<string[]>;
}

export interface Queryable {
  /** A querier over [mint, maxt] (ms, inclusive). */
  querier(mint: number, maxt: number): Querier;
}

/** Metric-family metadata as received from scrapes and remote_write. */
export interface MetadataSource {
  /** Metadata by metric name; `metric` filters to one name, `limit` caps the number of names. */
  metadata(metric?: string, limit?: number): Map<string, MetricMetadata[]>;
}

/** Head statistics for `/api/v1/status/tsdb`. */
export interface TsdbStatus {
  readonly numSeries: number;
  readonly numLabelPairs: number;
  readonly chunkCount: number;
  readonly minTime: number;
  readonly maxTime: number;
  readonly seriesCountByMetricName: { name: string; value: number }[];
  readonly labelValueCountByLabelName: { name: string; value: number }[];
  readonly memoryInBytesByLabelName: { name: string; value: number }[];
  readonly seriesCountByLabelValuePair: { name: string; value: number }[];
}

/** Everything a metrics backend offers the rest of the server. */
export interface MetricsStorage extends Appendable, Queryable, MetadataSource {
  status(limit: number): TsdbStatus;
  /** Flushes and closes; no method may be called afterwards. */
  close(): Promise<void>;
}
