/**
 * A simple, unindexed, non-durable MetricsStorage. It is the reference the TSDB is checked
 * against (brute-force matcher selection) and the fresh per-file store of the PromQL test runner,
 * where clarity matters more than speed.
 */
import { compareLabels, labelsKey, type Labels, METRIC_NAME, getLabel } from '../../model/labels.js';
import { compileMatcher, matchesAll, type Matcher } from '../../model/matchers.js';
import type { MetricMetadata } from '../../model/samples.js';
import {
  AppendError,
  type Appender,
  type MetricsStorage,
  type Querier,
  type SelectHints,
  type SeriesData,
  type SeriesRef,
  type TsdbStatus,
} from '../interfaces.js';

interface MemSeries {
  readonly ref: SeriesRef;
  readonly labels: Labels;
  t: number[];
  /**
   * Values in a Float64Array, never a number[]: V8 sets the quiet bit of NaNs stored in double
   * arrays, which would turn STALE_NAN (a signalling NaN) into an ordinary NaN.
   */
  v: Float64Array;
}

export class MemoryStorage implements MetricsStorage {
  private readonly byKey = new Map<string, MemSeries>();
  private readonly byRef: MemSeries[] = [];
  private readonly meta = new Map<string, MetricMetadata>();

  appender(): Appender {
    const pending: { s: MemSeries | null; labels: Labels; t: number; v: number }[] = [];
    const pendingMeta: [string, MetricMetadata][] = [];
    return {
      append: (ref, labels, t, v) => {
        const s = ref > 0 ? (this.byRef[ref - 1] ?? null) : (this.byKey.get(labelsKey(labels)) ?? null);
        if (s && s.t.length > 0) {
          const last = s.t[s.t.length - 1]!;
          if (t < last) throw new AppendError('out_of_order', 'out of order sample');
          if (t === last && !Object.is(s.v[s.t.length - 1], v)) {
            throw new AppendError('duplicate_sample_for_timestamp', 'duplicate sample for timestamp');
          }
        }
        pending.push({ s, labels, t, v });
        return s ? s.ref : 0;
      },
      updateMetadata: (name, m) => void pendingMeta.push([name, m]),
      commit: async () => {
        for (const p of pending) {
          const s = p.s ?? this.getOrCreate(p.labels);
          const n = s.t.length;
          if (n > 0 && s.t[n - 1] === p.t) continue;
          if (n > 0 && s.t[n - 1]! > p.t) continue;
          if (s.v.length === n) {
            const grown = new Float64Array(Math.max(8, n * 2));
            grown.set(s.v);
            s.v = grown;
          }
          s.v[n] = p.v;
          s.t.push(p.t);
        }
        for (const [name, m] of pendingMeta) this.meta.set(name, m);
        pending.length = 0;
      },
      rollback: () => {
        pending.length = 0;
      },
    };
  }

  private getOrCreate(labels: Labels): MemSeries {
    const key = labelsKey(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = { ref: this.byRef.length + 1, labels, t: [], v: new Float64Array(8) };
      this.byKey.set(key, s);
      this.byRef.push(s);
    }
    return s;
  }

  querier(mint: number, maxt: number): Querier {
    const matching = (matchers: readonly Matcher[]): MemSeries[] => {
      const compiled = matchers.map(compileMatcher);
      return this.byRef.filter((s) => matchesAll(compiled, s.labels)).sort((a, b) => compareLabels(a.labels, b.labels));
    };
    return {
      select: async (matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]> => {
        const lo = Math.max(mint, hints.start);
        const hi = Math.min(maxt, hints.end);
        const out: SeriesData[] = [];
        for (const s of matching(matchers)) {
          let from = 0;
          while (from < s.t.length && s.t[from]! < lo) from++;
          let to = from;
          while (to < s.t.length && s.t[to]! <= hi) to++;
          if (to > from) out.push({ labels: s.labels, timestamps: Float64Array.from(s.t.slice(from, to)), values: s.v.slice(from, to) });
        }
        return out;
      },
      series: async (matchers) => matching(matchers).filter((s) => this.hasSamplesIn(s, mint, maxt)).map((s) => s.labels),
      labelNames: async (matchers) => {
        const names = new Set<string>();
        for (const s of matching(matchers)) if (this.hasSamplesIn(s, mint, maxt)) for (const l of s.labels) names.add(l.name);
        return [...names].sort();
      },
      labelValues: async (name, matchers) => {
        const values = new Set<string>();
        for (const s of matching(matchers)) {
          const v = getLabel(s.labels, name);
          if (v !== undefined && this.hasSamplesIn(s, mint, maxt)) values.add(v);
        }
        return [...values].sort();
      },
    };
  }

  private hasSamplesIn(s: MemSeries, mint: number, maxt: number): boolean {
    return s.t.some((t) => t >= mint && t <= maxt);
  }

  metadata(metric?: string, limit?: number): Map<string, MetricMetadata[]> {
    const out = new Map<string, MetricMetadata[]>();
    for (const [name, m] of this.meta) {
      if (metric !== undefined && name !== metric) continue;
      if (limit !== undefined && limit >= 0 && out.size >= limit) break;
      out.set(name, [m]);
    }
    return out;
  }

  status(limit: number): TsdbStatus {
    const byName = new Map<string, number>();
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const s of this.byRef) {
      const name = getLabel(s.labels, METRIC_NAME) ?? '';
      byName.set(name, (byName.get(name) ?? 0) + 1);
      if (s.t.length) {
        minTime = Math.min(minTime, s.t[0]!);
        maxTime = Math.max(maxTime, s.t[s.t.length - 1]!);
      }
    }
    const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([name, value]) => ({ name, value }));
    return {
      numSeries: this.byRef.length,
      numLabelPairs: 0,
      chunkCount: 0,
      minTime: Number.isFinite(minTime) ? minTime : 0,
      maxTime: Number.isFinite(maxTime) ? maxTime : 0,
      seriesCountByMetricName: top,
      labelValueCountByLabelName: [],
      memoryInBytesByLabelName: [],
      seriesCountByLabelValuePair: [],
    };
  }

  /** Removes every series and sample (the test runner's `clear`). */
  clear(): void {
    this.byKey.clear();
    this.byRef.length = 0;
    this.meta.clear();
  }

  async close(): Promise<void> {}
}
