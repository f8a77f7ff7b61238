/**
 * Cumulative counters and histograms kept in memory by label set and appended to the metrics
 * storage as ordinary Prometheus series, the way Tempo's metrics-generator registry does. Label
 * sets and every derived series' labels are built once, when a combination is first seen; an
 * observation only bumps numbers in typed arrays. Series idle for `staleMs` are dropped, and no
 * more than `maxSeries` combinations are tracked, so memory stays bounded.
 */
import { type Label, type Labels, METRIC_NAME, sortLabels } from '../model/labels.js';
import type { MetricMetadata } from '../model/samples.js';
import { AppendError, type Appender } from '../storage/interfaces.js';

/** Prometheus's rendering of a bucket bound in the `le` label. */
function formatLe(bound: number): string {
  return bound === Infinity ? '+Inf' : String(bound);
}

function withName(name: string, base: readonly Label[], extra?: Label): Labels {
  const out: Label[] = [{ name: METRIC_NAME, value: name }, ...base];
  if (extra) out.push(extra);
  return sortLabels(out);
}

/** One label combination of a family: a counter, or a histogram with fixed bounds. */
class Series {
  lastUpdateMs: number;
  count = 0;
  sum = 0;
  /** Per-bucket (non-cumulative) counts; the last slot is the +Inf overflow. */
  readonly buckets: Float64Array;
  /** Labels of every appended series: counter → [total]; histogram → buckets…, +Inf, sum, count (per name). */
  readonly seriesLabels: Labels[];
  readonly refs: number[];

  constructor(names: readonly string[], kind: 'counter' | 'histogram', bounds: readonly number[], base: readonly Label[], nowMs: number) {
    this.lastUpdateMs = nowMs;
    this.buckets = new Float64Array(kind === 'histogram' ? bounds.length + 1 : 0);
    this.seriesLabels = [];
    for (const name of names) {
      if (kind === 'counter') {
        this.seriesLabels.push(withName(name, base));
        continue;
      }
      for (const b of bounds) this.seriesLabels.push(withName(`${name}_bucket`, base, { name: 'le', value: formatLe(b) }));
      this.seriesLabels.push(withName(`${name}_bucket`, base, { name: 'le', value: '+Inf' }));
      this.seriesLabels.push(withName(`${name}_sum`, base));
      this.seriesLabels.push(withName(`${name}_count`, base));
    }
    this.refs = this.seriesLabels.map(() => 0);
  }
}

/** Index of the bucket `value` falls in: the first bound it does not exceed, or the overflow slot. */
function bucketIndex(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  return i;
}

/** Observations of one histogram series gathered apart (e.g. a request's), added to a family later. */
export class HistogramTally {
  count = 0;
  sum = 0;
  /** Per-bucket (non-cumulative) counts; the last slot is the +Inf overflow. */
  readonly buckets: Float64Array;

  constructor(private readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  add(value: number): void {
    this.count++;
    this.sum += value;
    this.buckets[bucketIndex(this.bounds, value)]!++;
  }
}

export interface FamilyOptions {
  /** Metric names fed with the same observations (a histogram may be exported under two names). */
  readonly names: readonly string[];
  readonly kind: 'counter' | 'histogram';
  readonly help: string;
  /** Histogram bucket upper bounds, ascending, without +Inf. */
  readonly bounds?: readonly number[];
}

/** A family of cumulative series sharing names, kind and bounds. */
export class CumulativeFamily {
  private readonly series = new Map<string, Series>();
  private readonly bounds: readonly number[];

  constructor(
    private readonly opts: FamilyOptions,
    private readonly maxSeries: number,
  ) {
    this.bounds = opts.bounds ?? [];
  }

  get size(): number {
    return this.series.size;
  }

  /**
   * Adds `value` to the counter (or observes it in the histogram) of the label combination `key`;
   * `labels` builds the combination's labels the first time it is seen. False when the series
   * limit was reached and the observation was dropped.
   */
  observe(key: string, labels: () => Label[], value: number, nowMs: number): boolean {
    const s = this.seriesFor(key, labels, nowMs);
    if (s === null) return false;
    if (this.opts.kind === 'counter') {
      s.count += value;
      return true;
    }
    s.count++;
    s.sum += value;
    s.buckets[bucketIndex(this.bounds, value)]!++;
    return true;
  }

  /**
   * Adds a histogram tally (made with this family's bounds) to the combination `key`; like observe,
   * false when the series limit was reached and the tally was dropped.
   */
  observeTally(key: string, labels: () => Label[], tally: HistogramTally, nowMs: number): boolean {
    const s = this.seriesFor(key, labels, nowMs);
    if (s === null) return false;
    s.count += tally.count;
    s.sum += tally.sum;
    for (let i = 0; i < s.buckets.length; i++) s.buckets[i]! += tally.buckets[i]!;
    return true;
  }

  /** The series of `key`, created (with `labels`) when new and there is room; null when full. */
  private seriesFor(key: string, labels: () => Label[], nowMs: number): Series | null {
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.maxSeries) return null;
      s = new Series(this.opts.names, this.opts.kind, this.bounds, labels(), nowMs);
      this.series.set(key, s);
    }
    s.lastUpdateMs = nowMs;
    return s;
  }

  /** Appends every series' current value at `t`; returns the number of samples rejected. */
  appendTo(app: Appender, t: number): number {
    let rejected = 0;
    const put = (s: Series, i: number, v: number): void => {
      try {
        s.refs[i] = app.append(s.refs[i]!, s.seriesLabels[i]!, t, v);
      } catch (err) {
        if (!(err instanceof AppendError)) throw err;
        rejected++;
      }
    };
    for (const s of this.series.values()) {
      if (this.opts.kind === 'counter') {
        put(s, 0, s.count);
        continue;
      }
      const perName = this.bounds.length + 3;
      for (let n = 0; n < this.opts.names.length; n++) {
        const base = n * perName;
        let cumulative = 0;
        for (let b = 0; b < s.buckets.length; b++) {
          cumulative += s.buckets[b]!;
          put(s, base + b, cumulative);
        }
        put(s, base + s.buckets.length, s.sum);
        put(s, base + s.buckets.length + 1, s.count);
      }
    }
    return rejected;
  }

  /** Records HELP/TYPE metadata for the family's names. */
  describe(app: Appender): void {
    const metadata: MetricMetadata = { type: this.opts.kind, help: this.opts.help, unit: this.opts.kind === 'histogram' ? 'seconds' : '' };
    for (const name of this.opts.names) app.updateMetadata(name, metadata);
  }

  /** Drops series not updated since `cutoffMs`. */
  dropIdle(cutoffMs: number): void {
    for (const [key, s] of this.series) if (s.lastUpdateMs < cutoffMs) this.series.delete(key);
  }
}
