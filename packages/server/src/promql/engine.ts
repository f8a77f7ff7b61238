/**
 * The PromQL engine: parses a query, fetches every selector's series once through a Querier
 * (the only async phase), then evaluates synchronously. Enforces the sample limit, the timeout
 * and the number of concurrent queries.
 */
import type { Logger } from 'pino';
import { compareLabels, type Labels } from '../model/labels.js';
import type { Queryable, SeriesData } from '../storage/interfaces.js';
import { exprType, type Expr, type VectorSelector } from './ast.js';
import { Annotations } from './annotations.js';
import { QueryError } from './errors.js';
import { Evaluator, atTime, finalizeNames, sortByLabels, subqueryGrid, type EvalContext } from './evaluator.js';
import { ParseError, parseExpr, typeName } from './parser.js';
import { withoutMetricIdentity, type Grid } from './value.js';

export interface EngineOptions {
  /** How far back an instant selector looks for a sample, ms (default 5m). */
  readonly lookbackDeltaMs?: number;
  /** Per-query timeout, ms (default 2m). */
  readonly timeoutMs?: number;
  /** Most samples a single step may hold (default 50,000,000 as Prometheus). */
  readonly maxSamples?: number;
  /** Queries evaluated at once; further ones wait (default 20). */
  readonly maxConcurrency?: number;
  /** Step of subqueries written without one, ms (default 1m). */
  readonly subqueryStepMs?: number;
  readonly logger?: Logger;
}

export interface InstantSample {
  readonly metric: Labels;
  /** Sample time, ms. */
  readonly t: number;
  readonly v: number;
}

export interface SeriesPoints {
  readonly metric: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

export type QueryData =
  | { readonly resultType: 'vector'; readonly result: InstantSample[] }
  | { readonly resultType: 'scalar'; readonly result: { t: number; v: number } }
  | { readonly resultType: 'string'; readonly result: { t: number; v: string } }
  | { readonly resultType: 'matrix'; readonly result: SeriesPoints[] };

export type QueryResult = QueryData & { readonly warnings: string[]; readonly infos: string[] };

export interface QueryOptions {
  /** Overrides the engine's lookback delta for this query, ms. */
  readonly lookbackDeltaMs?: number;
  /** Overrides the engine's timeout for this query, ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

interface FetchRange {
  start: number;
  end: number;
}

export class Engine {
  private readonly lookbackMs: number;
  private readonly timeoutMs: number;
  private readonly maxSamples: number;
  private readonly maxConcurrency: number;
  private readonly subqueryStepMs: number;
  private readonly logger: Logger | null;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: EngineOptions = {}) {
    this.lookbackMs = options.lookbackDeltaMs ?? 300_000;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxSamples = options.maxSamples ?? 50_000_000;
    this.maxConcurrency = options.maxConcurrency ?? 20;
    this.subqueryStepMs = options.subqueryStepMs ?? 60_000;
    this.logger = options.logger ?? null;
  }

  /** Evaluates `query` at one time (ms). */
  instantQuery(queryable: Queryable, query: string, timeMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    return this.run(queryable, query, timeMs, timeMs, 0, options);
  }

  /** Evaluates `query` at start, start+step, … ≤ end (ms); the result is always a matrix. */
  rangeQuery(queryable: Queryable, query: string, startMs: number, endMs: number, stepMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    if (stepMs <= 0) return Promise.reject(new QueryError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer'));
    if (endMs < startMs) return Promise.reject(new QueryError('bad_data', 'end timestamp must not be before start time'));
    return this.run(queryable, query, startMs, endMs, stepMs, options);
  }

  private async acquire(): Promise<void> {
    if (this.running < this.maxConcurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private async run(queryable: Queryable, query: string, startMs: number, endMs: number, stepMs: number, options: QueryOptions): Promise<QueryResult> {
    const isRange = stepMs > 0;
    let expr: Expr;
    try {
      expr = parseExpr(query, { stepMs, rangeMs: endMs - startMs });
    } catch (err) {
      if (err instanceof ParseError) throw new QueryError('bad_data', err.message);
      throw err;
    }
    const type = exprType(expr);
    if (isRange && type !== 'scalar' && type !== 'vector') {
      throw new QueryError('bad_data', `invalid expression type ${JSON.stringify(typeName(type))} for range query, must be Scalar or instant Vector`);
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    await this.acquire();
    try {
      const grid: Grid = { start: startMs, step: isRange ? stepMs : 1, n: isRange ? Math.floor((endMs - startMs) / stepMs) + 1 : 1 };
      const lookbackMs = options.lookbackDeltaMs ?? this.lookbackMs;
      const timing = { startMs, endMs, stepMs, lookbackMs, subqueryStepMs: this.subqueryStepMs };
      const data = await this.fetch(queryable, expr, grid, timing, deadline, options.signal);
      if (Date.now() > deadline) throw new QueryError('timeout', 'query timed out in query execution');
      const annotations = new Annotations(query);
      const ctx: EvalContext = {
        query,
        startMs,
        endMs,
        lookbackMs,
        subqueryStepMs: this.subqueryStepMs,
        maxSamples: this.maxSamples,
        deadline,
        signal: options.signal ?? null,
        annotations,
        data,
      };
      let result: QueryData;
      try {
        result = this.evaluate(new Evaluator(ctx), expr, grid, isRange);
      } catch (err) {
        if (err instanceof QueryError && err.type === 'timeout') this.logger?.warn({ query, timeoutMs }, 'query timed out');
        throw err;
      }
      return { ...result, warnings: [...annotations.warnings], infos: [...annotations.infos] } as QueryResult;
    } finally {
      this.release();
    }
  }

  /** Phase one: the time range each selector needs, then one select per selector. */
  private async fetch(
    queryable: Queryable,
    expr: Expr,
    grid: Grid,
    timing: { startMs: number; endMs: number; stepMs: number; lookbackMs: number; subqueryStepMs: number },
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Map<VectorSelector, SeriesData[]>> {
    const ranges = new Map<VectorSelector, FetchRange & { rangeMs: number }>();
    const visit = (e: Expr, g: Grid): void => {
      const first = g.start;
      const last = g.start + (g.n - 1) * g.step;
      switch (e.type) {
        case 'vector': {
          const at = atTime(e.at, timing);
          // Smoothing interpolates towards the next sample, up to a lookback delta ahead.
          const ahead = e.boundary === 'smoothed' ? timing.lookbackMs : 0;
          ranges.set(e, { start: (at ?? first) - e.offsetMs - timing.lookbackMs, end: (at ?? last) - e.offsetMs + ahead, rangeMs: 0 });
          return;
        }
        case 'matrix': {
          const v = e.vector;
          const at = atTime(v.at, timing);
          // Extended selectors also read a lookback delta before (and, smoothed, after) the window.
          const before = v.boundary ? timing.lookbackMs : 0;
          const ahead = v.boundary === 'smoothed' ? timing.lookbackMs : 0;
          ranges.set(v, { start: (at ?? first) - v.offsetMs - e.rangeMs - before, end: (at ?? last) - v.offsetMs + ahead, rangeMs: e.rangeMs });
          return;
        }
        case 'subquery': {
          const sub = subqueryGrid(e, g, timing);
          if (sub.n > 0) visit(e.expr, sub);
          return;
        }
        case 'paren':
        case 'unary':
          visit(e.expr, g);
          return;
        case 'binary':
          visit(e.lhs, g);
          visit(e.rhs, g);
          return;
        case 'aggregate':
          if (e.param) visit(e.param, g);
          visit(e.expr, g);
          return;
        case 'call':
          for (const a of e.args) visit(a, g);
          return;
        default:
          return;
      }
    };
    visit(expr, grid);
    const out = new Map<VectorSelector, SeriesData[]>();
    if (ranges.size === 0) return out;
    let mint = Infinity;
    let maxt = -Infinity;
    for (const r of ranges.values()) {
      mint = Math.min(mint, r.start);
      maxt = Math.max(maxt, r.end);
    }
    const querier = queryable.querier(mint, maxt);
    await Promise.all(
      [...ranges].map(async ([sel, r]) => {
        const series = await querier.select(sel.matchers, { start: r.start, end: r.end, range: r.rangeMs, step: timing.stepMs });
        out.set(sel, series);
      }),
    );
    if (signal?.aborted) throw new QueryError('canceled', 'query was canceled in query execution');
    if (Date.now() > deadline) throw new QueryError('timeout', 'query timed out in query queue');
    return out;
  }

  /** Phase two: evaluates and shapes the result as Prometheus returns it. */
  private evaluate(ev: Evaluator, expr: Expr, grid: Grid, isRange: boolean): QueryData {
    const value = ev.eval(expr, grid);
    const t = grid.start;
    switch (value.kind) {
      case 'string':
        return { resultType: 'string', result: { t, v: value.value } };
      case 'scalar':
        if (!isRange) return { resultType: 'scalar', result: { t, v: value.values[0]! } };
        return {
          resultType: 'matrix',
          result: [{ metric: [], timestamps: Float64Array.from({ length: grid.n }, (_, i) => grid.start + i * grid.step), values: value.values }],
        };
      case 'matrix': {
        const m = value.matrix;
        const end = m.windowEnds[0]!;
        const series: SeriesPoints[] = [];
        for (const s of m.series) {
          let lo = 0;
          while (lo < s.timestamps.length && s.timestamps[lo]! <= end - m.rangeMs) lo++;
          let hi = lo;
          while (hi < s.timestamps.length && s.timestamps[hi]! <= end) hi++;
          if (hi === lo) continue;
          const labels = s.dropName ? withoutMetricIdentity(s.labels) : s.labels;
          series.push({ metric: labels, timestamps: s.timestamps.slice(lo, hi), values: s.values.slice(lo, hi) });
        }
        return { resultType: 'matrix', result: series.sort((a, b) => compareLabels(a.metric, b.metric)) };
      }
      case 'vector': {
        const series = finalizeNames(value.series, grid.n);
        if (!isRange) {
          const result: InstantSample[] = [];
          for (const s of series) if (s.present[0]) result.push({ metric: s.labels, t, v: s.values[0]! });
          return { resultType: 'vector', result };
        }
        const out: SeriesPoints[] = [];
        for (const s of sortByLabels(series)) {
          let n = 0;
          for (let i = 0; i < grid.n; i++) n += s.present[i]!;
          if (n === 0) continue;
          const ts = new Float64Array(n);
          const vs = new Float64Array(n);
          let j = 0;
          for (let i = 0; i < grid.n; i++) {
            if (!s.present[i]) continue;
            ts[j] = grid.start + i * grid.step;
            vs[j++] = s.values[i]!;
          }
          out.push({ metric: s.labels, timestamps: ts, values: vs });
        }
        return { resultType: 'matrix', result: out };
      }
    }
  }
}
