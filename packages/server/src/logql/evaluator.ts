/**
 * Evaluates parsed LogQL against a LogStore. Log queries return streams of lines; metric queries
 * return one value per step. Fetching is async; aggregation runs synchronously over typed arrays.
 *
 * Metric queries whose pipeline the store can evaluate completely (stream selector, line filters,
 * exact level/request/trace/span filters) are counted inside the store per (stream, level, time
 * bucket) with buckets of gcd(step, range), so no line leaves the store; the others stream lines
 * through the pipeline here, up to `maxLines`.
 */
import { labelsKey, onlyLabels, withoutLabels, type Labels } from '../model/labels.js';
import type { StoredLogRecord } from '../model/log-record.js';
import type { LogStore } from '../storage/log-store.js';
import type { LogSelectorExpr, MetricExpr, RangeAggregationExpr, VectorAggregationExpr } from './ast.js';
import { LogQLLimitError } from './errors.js';
import { Pipeline } from './pipeline.js';

export interface LogQLLimits {
  /** Lines a query may pass through the in-process pipeline. Default 2,000,000. */
  readonly maxLines?: number;
  /** Series a metric query may produce. Default 20,000. */
  readonly maxSeries?: number;
  /** Time buckets a pushed-down metric query may count. Default 100,000. */
  readonly maxBuckets?: number;
}

export interface LogEntry {
  readonly timeNs: bigint;
  readonly line: string;
  readonly record: StoredLogRecord;
}

export interface LogStreamResult {
  readonly labels: Labels;
  readonly entries: LogEntry[];
}

export interface LogsQuery {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly limit: number;
  readonly direction: 'forward' | 'backward';
}

export interface SeriesResult {
  readonly labels: Labels;
  /** One value per step; NaN where the series has no value. */
  readonly values: Float64Array;
}

/** Values at times startNs + i·stepNs for i in [0, steps). */
export interface MatrixResult {
  readonly startNs: bigint;
  readonly stepNs: bigint;
  readonly steps: number;
  readonly series: SeriesResult[];
}

export interface MetricQuery {
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Ignored when startNs === endNs (an instant query). */
  readonly stepNs: bigint;
}

const PAGE = 5000;

export class LogQLEvaluator {
  private readonly maxLines: number;
  private readonly maxSeries: number;
  private readonly maxBuckets: number;

  constructor(
    private readonly store: LogStore,
    limits: LogQLLimits = {},
  ) {
    this.maxLines = limits.maxLines ?? 2_000_000;
    this.maxSeries = limits.maxSeries ?? 20_000;
    this.maxBuckets = limits.maxBuckets ?? 100_000;
  }

  /** Lines of a log query in [startNs, endNs), at most `limit`, grouped into streams by their labels. */
  async selectLogs(expr: LogSelectorExpr, q: LogsQuery): Promise<LogStreamResult[]> {
    const pipeline = new Pipeline(expr);
    const streams = new Map<string, LogStreamResult>();
    let taken = 0;
    await this.scan(pipeline, q.startNs, q.endNs, q.direction, q.limit, (record, out) => {
      const key = labelsKey(out.labels);
      let s = streams.get(key);
      if (!s) {
        s = { labels: out.labels, entries: [] };
        streams.set(key, s);
      }
      s.entries.push({ timeNs: record.timeNs, line: out.line, record });
      return ++taken < q.limit;
    });
    return [...streams.values()];
  }

  /**
   * Streams lines in [startNs, endNs) through the pipeline, calling `emit` for each line that
   * passes, until `emit` returns false, the range is exhausted, or maxLines were scanned.
   */
  private async scan(
    pipeline: Pipeline,
    startNs: bigint,
    endNs: bigint,
    direction: 'forward' | 'backward',
    wanted: number,
    emit: (record: StoredLogRecord, out: { line: string; labels: Labels }) => boolean,
  ): Promise<void> {
    const base = { startNs, endNs, matchers: pipeline.selector.matchers, lineFilters: pipeline.lineFilters, fields: pipeline.fields, direction };
    let after: { timeNs: bigint; seq: bigint } | undefined;
    let scanned = 0;
    for (;;) {
      const pageSize = pipeline.fullyPushedDown ? Math.max(1, Math.min(wanted, PAGE)) : PAGE;
      const page = await this.store.select({ ...base, limit: pageSize, ...(after ? { after } : {}) });
      for (const record of page) {
        const out = pipeline.process(record);
        if (out && !emit(record, out)) return;
      }
      scanned += page.length;
      if (page.length < pageSize) return;
      if (scanned >= this.maxLines) {
        throw new LogQLLimitError(`the query scanned more than ${this.maxLines} lines; narrow the stream selector, add a line filter, or shorten the range`);
      }
      const last = page[page.length - 1]!;
      after = { timeNs: last.timeNs, seq: last.seq };
    }
  }

  /** Evaluates a metric query at every step of [startNs, endNs]. */
  async evalMetric(expr: MetricExpr, q: MetricQuery): Promise<MatrixResult> {
    const stepNs = q.endNs === q.startNs || q.stepNs <= 0n ? 1n : q.stepNs;
    const steps = Number((q.endNs - q.startNs) / stepNs) + 1;
    const series = await this.evalExpr(expr, q.startNs, stepNs, steps);
    return { startNs: q.startNs, stepNs, steps, series };
  }

  private async evalExpr(expr: MetricExpr, startNs: bigint, stepNs: bigint, steps: number): Promise<SeriesResult[]> {
    if (expr.type === 'range') return this.rangeAggregation(expr, startNs, stepNs, steps);
    return aggregate(expr, await this.evalExpr(expr.expr, startNs, stepNs, steps), steps);
  }

  private async rangeAggregation(expr: RangeAggregationExpr, startNs: bigint, stepNs: bigint, steps: number): Promise<SeriesResult[]> {
    const pipeline = new Pipeline(expr.selector);
    const rangeSec = Number(expr.rangeNs) / 1e9;
    const useBytes = expr.fn === 'bytes_over_time' || expr.fn === 'bytes_rate';
    const divisor = expr.fn === 'rate' || expr.fn === 'bytes_rate' ? rangeSec : 1;
    // Window i is (t_i - offset - range, t_i - offset]; all windows lie in (origin, origin + span].
    const originNs = startNs - expr.offsetNs - expr.rangeNs;
    const spanNs = BigInt(steps - 1) * stepNs + expr.rangeNs;
    const acc = new WindowAccumulator(steps, this.maxSeries);
    if (pipeline.fullyPushedDown) {
      const g = steps === 1 ? expr.rangeNs : gcd(stepNs, expr.rangeNs);
      const bucketCount = spanNs / g;
      if (bucketCount > BigInt(this.maxBuckets)) {
        throw new LogQLLimitError(
          `the query needs ${bucketCount} time buckets (range and step have a greatest common divisor of ${Number(g) / 1e9}s); use a step that divides the range or a shorter time span`,
        );
      }
      const cells = await this.store.countBuckets({
        originNs,
        widthNs: g,
        bucketCount: Number(bucketCount),
        matchers: pipeline.selector.matchers,
        lineFilters: pipeline.lineFilters,
        fields: pipeline.fields,
        bytes: useBytes,
      });
      for (let i = 0; i < cells.bucket.length; i++) {
        const labels = pipeline.baseLabels({ stream: cells.streams[cells.streamIndex[i]!]!, level: cells.level[i]! });
        acc.add(labels, cells.bucket[i]!, cells.count[i]!, cells.bytes[i]!);
      }
      return acc.windows(Number(stepNs / g), Number(expr.rangeNs / g), useBytes, divisor);
    }
    // Lines are bucketed by the finest unit that keeps window edges exact: 1 ms when both align, else 1 ns.
    const unit = stepNs % 1_000_000n === 0n && expr.rangeNs % 1_000_000n === 0n && originNs % 1_000_000n === 0n ? 1_000_000n : 1n;
    await this.scan(pipeline, originNs + 1n, originNs + spanNs + 1n, 'forward', Number.MAX_SAFE_INTEGER, (record, out) => {
      const bucket = Number((record.timeNs - originNs + unit - 1n) / unit);
      acc.add(out.labels, bucket, 1, Buffer.byteLength(out.line));
      return true;
    });
    return acc.windows(Number(stepNs / unit), Number(expr.rangeNs / unit), useBytes, divisor);
  }
}

/** Per-series sparse (bucket, count, bytes) cells, summed over sliding windows. */
class WindowAccumulator {
  private readonly series = new Map<string, { labels: Labels; buckets: number[]; counts: number[]; bytes: number[] }>();

  constructor(
    private readonly steps: number,
    private readonly maxSeries: number,
  ) {}

  add(labels: Labels, bucket: number, count: number, bytes: number): void {
    const key = labelsKey(labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= this.maxSeries) throw new LogQLLimitError(`the query produces more than ${this.maxSeries} series; aggregate with sum by (...) or narrow the selector`);
      s = { labels, buckets: [], counts: [], bytes: [] };
      this.series.set(key, s);
    }
    s.buckets.push(bucket);
    s.counts.push(count);
    s.bytes.push(bytes);
  }

  /** Window i covers buckets (i·stepBuckets, i·stepBuckets + rangeBuckets]. */
  windows(stepBuckets: number, rangeBuckets: number, useBytes: boolean, divisor: number): SeriesResult[] {
    const out: SeriesResult[] = [];
    for (const s of this.series.values()) {
      const order = Array.from(s.buckets.keys()).sort((a, b) => s.buckets[a]! - s.buckets[b]!);
      const values = new Float64Array(this.steps).fill(NaN);
      let lo = 0;
      let hi = 0;
      let count = 0;
      let sum = 0;
      let any = false;
      for (let i = 0; i < this.steps; i++) {
        const from = i * stepBuckets;
        const to = from + rangeBuckets;
        while (hi < order.length && s.buckets[order[hi]!]! <= to) {
          count += s.counts[order[hi]!]!;
          sum += useBytes ? s.bytes[order[hi]!]! : s.counts[order[hi]!]!;
          hi++;
        }
        while (lo < hi && s.buckets[order[lo]!]! <= from) {
          count -= s.counts[order[lo]!]!;
          sum -= useBytes ? s.bytes[order[lo]!]! : s.counts[order[lo]!]!;
          lo++;
        }
        if (count > 0) {
          values[i] = sum / divisor;
          any = true;
        }
      }
      if (any) out.push({ labels: s.labels, values });
    }
    return out;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function groupLabels(labels: Labels, grouping: VectorAggregationExpr['grouping']): Labels {
  if (grouping === null) return [];
  const names = new Set(grouping.labels);
  return grouping.without ? withoutLabels(labels, names) : onlyLabels(labels, names);
}

/** sum/count/avg/max/min/topk/bottomk over series, step by step. */
function aggregate(expr: VectorAggregationExpr, input: readonly SeriesResult[], steps: number): SeriesResult[] {
  const groups = new Map<string, { labels: Labels; members: SeriesResult[] }>();
  for (const s of input) {
    const labels = groupLabels(s.labels, expr.grouping);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) {
      g = { labels, members: [] };
      groups.set(key, g);
    }
    g.members.push(s);
  }
  if (expr.op === 'topk' || expr.op === 'bottomk') return selectK(expr.op, expr.param!, [...groups.values()], steps);
  const out: SeriesResult[] = [];
  for (const g of groups.values()) {
    const values = new Float64Array(steps).fill(NaN);
    for (let i = 0; i < steps; i++) {
      let n = 0;
      let acc = 0;
      for (const m of g.members) {
        const v = m.values[i]!;
        if (Number.isNaN(v)) continue;
        if (n === 0) acc = expr.op === 'count' ? 1 : v;
        else if (expr.op === 'sum' || expr.op === 'avg') acc += v;
        else if (expr.op === 'count') acc += 1;
        else if (expr.op === 'max') acc = Math.max(acc, v);
        else acc = Math.min(acc, v);
        n++;
      }
      if (n > 0) values[i] = expr.op === 'avg' ? acc / n : acc;
    }
    out.push({ labels: g.labels, values });
  }
  return out;
}

function selectK(op: 'topk' | 'bottomk', k: number, groups: readonly { members: SeriesResult[] }[], steps: number): SeriesResult[] {
  const kept = new Map<SeriesResult, Float64Array>();
  for (const g of groups) {
    for (let i = 0; i < steps; i++) {
      const present = g.members.filter((m) => !Number.isNaN(m.values[i]!));
      present.sort((a, b) => (op === 'topk' ? b.values[i]! - a.values[i]! : a.values[i]! - b.values[i]!));
      for (const m of present.slice(0, k)) {
        let values = kept.get(m);
        if (!values) {
          values = new Float64Array(steps).fill(NaN);
          kept.set(m, values);
        }
        values[i] = m.values[i]!;
      }
    }
  }
  return [...kept].map(([m, values]) => ({ labels: m.labels, values }));
}
