/**
 * The synchronous evaluation phase: walks the AST over a time grid, reading only the series the
 * fetch phase loaded. Every node yields its value at all steps at once (see value.ts).
 */
import { labelsKey, compareLabels, type Labels } from '../model/labels.js';
import { isStaleNaN } from '../model/samples.js';
import type { SeriesData } from '../storage/interfaces.js';
import type { AtModifier, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from './ast.js';
import type { Annotations } from './annotations.js';
import { evalAggregate } from './aggregations.js';
import { evalBinary } from './binary-ops.js';
import { evalCall } from './functions.js';
import { smoothedAt } from './extended-windows.js';
import { QueryError, TOO_MANY_SAMPLES, executionError } from './errors.js';
import {
  StepSeriesBlock,
  gridTime,
  upperBound,
  withoutMetricIdentity,
  newStepSeries,
  type EvalValue,
  type Grid,
  type MatrixArg,
  type RangeSeries,
  type StepSeries,
} from './value.js';

/** Everything one query's evaluation needs; built by the engine after fetching. */
export interface EvalContext {
  readonly query: string;
  /** Query start and end (ms), what `@ start()` and `@ end()` refer to. */
  readonly startMs: number;
  readonly endMs: number;
  readonly lookbackMs: number;
  readonly subqueryStepMs: number;
  readonly maxSamples: number;
  /** Wall-clock deadline (Date.now() ms). */
  readonly deadline: number;
  readonly signal: AbortSignal | null;
  readonly annotations: Annotations;
  /** Fetched series per selector node. */
  readonly data: ReadonlyMap<VectorSelector, SeriesData[]>;
}

/** Resolves an @ modifier to ms, or null when absent. */
export function atTime(at: AtModifier | null, ctx: { startMs: number; endMs: number }): number | null {
  if (!at) return null;
  if (at.kind === 'time') return at.ms;
  return at.kind === 'start' ? ctx.startMs : ctx.endMs;
}

/** The grid a subquery evaluates its inner expression on, for a parent grid. */
export function subqueryGrid(e: SubqueryExpr, parent: Grid, ctx: EvalContext | { startMs: number; endMs: number; subqueryStepMs: number }): Grid {
  const step = e.stepMs > 0 ? e.stepMs : ctx.subqueryStepMs;
  const at = atTime(e.at, ctx);
  const first = at ?? parent.start;
  const last = at ?? gridTime(parent, parent.n - 1);
  const lo = first - e.offsetMs - e.rangeMs;
  // Aligned to absolute multiples of the step, first point strictly after lo (left-open range).
  let start = Math.trunc(lo / step) * step;
  if (start <= lo) start += step;
  const end = last - e.offsetMs;
  const n = end < start ? 0 : Math.floor((end - start) / step) + 1;
  return { start, step, n };
}

/** Unwraps parentheses. */
export function unwrapParens(e: Expr): Expr {
  let x = e;
  while (x.type === 'paren') x = x.expr;
  return x;
}

export class Evaluator {
  private steps = 0;

  constructor(readonly ctx: EvalContext) {}

  get annotations(): Annotations {
    return this.ctx.annotations;
  }

  /** Throws when the query ran past its deadline or was aborted. Called between nodes and in long loops. */
  checkDeadline(): void {
    if (++this.steps % 64 !== 0) return;
    if (Date.now() > this.ctx.deadline) throw new QueryError('timeout', 'query timed out in expression evaluation');
    if (this.ctx.signal?.aborted) throw new QueryError('canceled', 'query was canceled in expression evaluation');
  }

  /** Counts samples held for one step against the limit. */
  checkSamples(count: number): void {
    if (count > this.ctx.maxSamples) throw executionError(TOO_MANY_SAMPLES);
  }

  eval(e: Expr, g: Grid): EvalValue {
    this.checkDeadline();
    switch (e.type) {
      case 'number':
        return { kind: 'scalar', values: new Float64Array(g.n).fill(e.value) };
      case 'string':
        return { kind: 'string', value: e.value };
      case 'paren':
        return this.eval(e.expr, g);
      case 'vector':
        return { kind: 'vector', series: this.vectorSelector(e, g) };
      case 'matrix':
      case 'subquery':
        return { kind: 'matrix', matrix: this.matrix(e, g) };
      case 'unary':
        return this.unary(e.op, this.eval(e.expr, g));
      case 'call':
        return evalCall(this, e, g);
      case 'aggregate':
        return evalAggregate(this, e, g);
      case 'binary':
        return evalBinary(this, e, g);
    }
  }

  /** Evaluates an expression that must be an instant vector. */
  vector(e: Expr, g: Grid): StepSeries[] {
    const v = this.eval(e, g);
    if (v.kind !== 'vector') throw new QueryError('internal', `expected instant vector, got ${v.kind}`);
    return v.series;
  }

  /** Evaluates an expression that must be a scalar. */
  scalar(e: Expr, g: Grid): Float64Array {
    const v = this.eval(e, g);
    if (v.kind !== 'scalar') throw new QueryError('internal', `expected scalar, got ${v.kind}`);
    return v.values;
  }

  private unary(op: '+' | '-', v: EvalValue): EvalValue {
    if (op === '+') return v;
    if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) };
    if (v.kind !== 'vector') throw new QueryError('internal', 'unary minus on non-numeric value');
    for (const s of v.series) {
      const vals = s.values;
      for (let i = 0; i < vals.length; i++) vals[i] = -vals[i]!;
      s.dropName = true;
    }
    return v;
  }

  private fetched(sel: VectorSelector): SeriesData[] {
    return this.ctx.data.get(sel) ?? [];
  }

  /** Instant-vector selector: newest sample in (t - lookback, t] unless it is a staleness marker. */
  vectorSelector(sel: VectorSelector, g: Grid): StepSeries[] {
    if (sel.boundary === 'smoothed') return this.smoothedSelector(sel, g);
    const out: StepSeries[] = [];
    const at = atTime(sel.at, this.ctx);
    const lookback = this.ctx.lookbackMs;
    const perStep = new Uint32Array(g.n);
    const fetched = this.fetched(sel);
    const block = new StepSeriesBlock(fetched.length, g.n);
    for (const sd of fetched) {
      const ts = sd.timestamps;
      const vs = sd.values;
      const s = block.take(sd.labels, false);
      let ptr = 0;
      let any = false;
      for (let i = 0; i < g.n; i++) {
        const t = (at ?? g.start + i * g.step) - sel.offsetMs;
        while (ptr < ts.length && ts[ptr]! <= t) ptr++;
        const k = ptr - 1;
        if (k < 0 || ts[k]! <= t - lookback) continue;
        const v = vs[k]!;
        if (v !== v && isStaleNaN(v)) continue;
        s.values[i] = v;
        s.present[i] = 1;
        perStep[i]!++;
        any = true;
      }
      if (any) out.push(s);
      else block.giveBack(s);
    }
    for (let i = 0; i < g.n; i++) this.checkSamples(perStep[i]!);
    return out;
  }

  /** A `smoothed` instant selector: the value interpolated at each step between its neighbours. */
  private smoothedSelector(sel: VectorSelector, g: Grid): StepSeries[] {
    const out: StepSeries[] = [];
    const at = atTime(sel.at, this.ctx);
    for (const rs of this.matrixSeries(sel)) {
      const s = newStepSeries(rs.labels, g.n, false);
      let any = false;
      for (let i = 0; i < g.n; i++) {
        const v = smoothedAt(rs.timestamps, rs.values, (at ?? g.start + i * g.step) - sel.offsetMs, this.ctx.lookbackMs);
        if (v === null) continue;
        s.values[i] = v;
        s.present[i] = 1;
        any = true;
      }
      if (any) out.push(s);
    }
    return out;
  }

  /** Sample timestamps (seconds) of what a vector selector picks at each step, for timestamp(). */
  selectorTimestamps(sel: VectorSelector, g: Grid): StepSeries[] {
    const series = this.vectorSelector(sel, g);
    const at = atTime(sel.at, this.ctx);
    const byKey = new Map<string, SeriesData>();
    for (const sd of this.fetched(sel)) byKey.set(labelsKey(sd.labels), sd);
    for (const s of series) {
      const sd = byKey.get(labelsKey(s.labels))!;
      for (let i = 0; i < g.n; i++) {
        if (!s.present[i]) continue;
        const t = (at ?? g.start + i * g.step) - sel.offsetMs;
        const lo = upperBound(sd.timestamps, t);
        s.values[i] = sd.timestamps[lo - 1]! / 1000;
      }
      s.dropName = true;
    }
    return series;
  }

  /** A range vector argument: raw points per series plus each step's window. */
  matrix(e: MatrixSelector | SubqueryExpr, g: Grid): MatrixArg {
    const isSub = e.type === 'subquery';
    const at = atTime(isSub ? e.at : e.vector.at, this.ctx);
    const offset = isSub ? e.offsetMs : e.vector.offsetMs;
    const windowEnds = new Float64Array(g.n);
    for (let i = 0; i < g.n; i++) windowEnds[i] = (at ?? g.start + i * g.step) - offset;
    const series = isSub ? this.subquerySeries(e, g) : this.matrixSeries(e.vector);
    const matrix: MatrixArg = { series, rangeMs: e.rangeMs, boundary: isSub ? null : e.vector.boundary, windowEnds };
    this.checkMatrixSamples(matrix);
    return matrix;
  }

  private checkMatrixSamples(m: MatrixArg): void {
    if (m.windowEnds.length === 0) return;
    // The largest window is bounded by the points a single step can see.
    const end = m.windowEnds[m.windowEnds.length - 1]!;
    let count = 0;
    for (const s of m.series) {
      const ts = s.timestamps;
      let hi = ts.length;
      while (hi > 0 && ts[hi - 1]! > end) hi--;
      let lo = hi;
      while (lo > 0 && ts[lo - 1]! > end - m.rangeMs) lo--;
      count += hi - lo;
    }
    this.checkSamples(count);
  }

  private matrixSeries(sel: VectorSelector): RangeSeries[] {
    const out: RangeSeries[] = [];
    for (const sd of this.fetched(sel)) {
      let stale = 0;
      for (let i = 0; i < sd.values.length; i++) if (isStaleNaN(sd.values[i]!)) stale++;
      if (stale === 0) {
        out.push({ labels: sd.labels, timestamps: sd.timestamps, values: sd.values, dropName: false });
        continue;
      }
      const n = sd.values.length - stale;
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      let j = 0;
      for (let i = 0; i < sd.values.length; i++) {
        const v = sd.values[i]!;
        if (isStaleNaN(v)) continue;
        ts[j] = sd.timestamps[i]!;
        vs[j++] = v;
      }
      out.push({ labels: sd.labels, timestamps: ts, values: vs, dropName: false });
    }
    return out;
  }

  private subquerySeries(e: SubqueryExpr, g: Grid): RangeSeries[] {
    const sub = subqueryGrid(e, g, this.ctx);
    const inner = sub.n > 0 ? this.vector(e.expr, sub) : [];
    const out: RangeSeries[] = [];
    for (const s of inner) {
      let n = 0;
      for (let i = 0; i < sub.n; i++) n += s.present[i]!;
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      let j = 0;
      for (let i = 0; i < sub.n; i++) {
        if (!s.present[i]) continue;
        ts[j] = sub.start + i * sub.step;
        vs[j++] = s.values[i]!;
      }
      out.push({ labels: s.labels, timestamps: ts, values: vs, dropName: s.dropName });
    }
    return out;
  }
}

/**
 * Drops names marked for removal, then merges series that now share a label set; two of them
 * with a sample at the same step is Prometheus's duplicate-labelset error.
 */
export function finalizeNames(series: StepSeries[], n: number): StepSeries[] {
  // Label sets are unique until a name is dropped (functions that relabel merge on their own).
  if (!series.some((s) => s.dropName)) return series;
  for (const s of series) {
    if (s.dropName) {
      s.labels = withoutMetricIdentity(s.labels);
      s.dropName = false;
    }
  }
  return mergeSameLabels(series, n);
}

/** Merges series with equal labels; overlapping samples are an error. */
export function mergeSameLabels(series: StepSeries[], n: number): StepSeries[] {
  const byKey = new Map<string, StepSeries>();
  const out: StepSeries[] = [];
  for (const s of series) {
    const key = labelsKey(s.labels);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, s);
      out.push(s);
      continue;
    }
    for (let i = 0; i < n; i++) {
      if (!s.present[i]) continue;
      if (prev.present[i]) throw executionError('vector cannot contain metrics with the same labelset');
      prev.present[i] = 1;
      prev.values[i] = s.values[i]!;
    }
    prev.dropName = prev.dropName && s.dropName;
  }
  return out;
}

/** Sorts series by labels, as range-query results are. */
export function sortByLabels<T extends { labels: Labels }>(series: T[]): T[] {
  return series.sort((a, b) => compareLabels(a.labels, b.labels));
}
