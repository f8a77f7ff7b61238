/**
 * Evaluation values. The evaluator works column-wise: an instant vector over a query's steps is a
 * list of series, each with one Float64Array slot per step and a presence flag per step, so a
 * range query is evaluated in one pass per node with no per-sample objects.
 */
import type { Labels } from '../model/labels.js';
import type { BoundaryMode } from './ast.js';

/**
 * Labels that name a metric: __name__ and, with type-and-unit labels, __type__ and __unit__.
 * Whatever drops the name drops them too.
 */
export const METRIC_IDENTITY_LABELS: ReadonlySet<string> = new Set(['__name__', '__type__', '__unit__']);

/** Labels without the metric-identity labels. */
export function withoutMetricIdentity(labels: Labels): Labels {
  return labels.filter((l) => !METRIC_IDENTITY_LABELS.has(l.name));
}

/** The evaluation times of a node: start, start+step, … (n points, ms). */
export interface Grid {
  readonly start: number;
  readonly step: number;
  readonly n: number;
}

/** Time of step i of a grid, ms. */
export function gridTime(g: Grid, i: number): number {
  return g.start + i * g.step;
}

/** One series of an instant vector evaluated at every step of a grid. */
export interface StepSeries {
  labels: Labels;
  readonly values: Float64Array;
  /** 1 where the series has a sample at that step. */
  readonly present: Uint8Array;
  /** Delayed __name__ removal: the name is dropped when the query result is built. */
  dropName: boolean;
}

export function newStepSeries(labels: Labels, n: number, dropName: boolean): StepSeries {
  return { labels, values: new Float64Array(n), present: new Uint8Array(n), dropName };
}

/**
 * Hands out step series backed by two shared buffers: one allocation per node instead of two
 * typed arrays per series, which dominate the cost of wide queries otherwise.
 */
export class StepSeriesBlock {
  private readonly values: Float64Array;
  private readonly present: Uint8Array;
  private next = 0;

  constructor(
    private readonly count: number,
    private readonly n: number,
  ) {
    this.values = new Float64Array(count * n);
    this.present = new Uint8Array(count * n);
  }

  /** The next zeroed series; at most `count` may be taken. */
  take(labels: Labels, dropName: boolean): StepSeries {
    if (this.next >= this.count) return newStepSeries(labels, this.n, dropName);
    const from = this.next++ * this.n;
    return { labels, values: this.values.subarray(from, from + this.n), present: this.present.subarray(from, from + this.n), dropName };
  }

  /** Returns the last taken series' slot when it stayed empty, so the next take reuses it. */
  giveBack(s: StepSeries): void {
    if (this.next > 0 && s.present.buffer === this.present.buffer && s.present.byteOffset === (this.next - 1) * this.n) {
      s.present.fill(0);
      s.values.fill(0);
      this.next--;
    }
  }
}

/** A series of a range vector: its raw points (no staleness markers). */
export interface RangeSeries {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly dropName: boolean;
}

/** A range vector as seen by a function at each step: the series and each step's window. */
export interface MatrixArg {
  readonly series: RangeSeries[];
  readonly rangeMs: number;
  /** Extended range-selector semantics of a matrix selector (null for plain and subqueries). */
  readonly boundary: BoundaryMode;
  /** Right end (inclusive) of the window at each step, ms; the window is (end - range, end]. */
  readonly windowEnds: Float64Array;
}

export type EvalValue =
  | { readonly kind: 'vector'; readonly series: StepSeries[] }
  | { readonly kind: 'scalar'; readonly values: Float64Array }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'matrix'; readonly matrix: MatrixArg };

/** Index of the first timestamp > t (binary search). */
export function upperBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
