/**
 * Runs a parsed test script against a fresh in-memory store and reports each eval as passed,
 * failed (with expected and actual values) or skipped (with the unsupported feature it needs).
 */
import { compareLabels, formatLabels, getLabel, labelsKey, type Labels } from '../../model/labels.js';
import { compileMatcher, matchesAll } from '../../model/matchers.js';
import { isStaleNaN } from '../../model/samples.js';
import { MemoryStorage } from '../../storage/memory/memory-storage.js';
import type { VectorSelector } from '../ast.js';
import { Engine, type QueryResult } from '../engine.js';
import { QueryError } from '../errors.js';
import { formatFloat } from '../float-math.js';
import { UnsupportedFeatureError, parseExpr } from '../parser.js';
import { formatExpr } from '../printer.js';
import { invarianceTimes, pinToEvalTime } from './at-invariance.js';
import type { Expr } from '../ast.js';
import type { Command, EvalCommand, Expectation, LoadCommand, SeqValue } from './script-parser.js';

export type EvalOutcome =
  | { readonly status: 'passed'; readonly line: number }
  | { readonly status: 'skipped'; readonly line: number; readonly feature: string }
  | { readonly status: 'failed'; readonly line: number; readonly expr: string; readonly message: string };

const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus's almost.Equal with the test harness's epsilon, plus the staleness rules. */
export function floatsMatch(actual: number, expected: number): boolean {
  const as = isStaleNaN(actual);
  const es = isStaleNaN(expected);
  if (as || es) return as && es;
  if (actual !== actual && expected !== expected) return true;
  if (actual === expected) return true;
  const diff = Math.abs(actual - expected);
  const sum = Math.abs(actual) + Math.abs(expected);
  if (actual === 0 || expected === 0 || sum < MIN_NORMAL) return diff < 1e-6 * MIN_NORMAL;
  return diff / Math.min(sum, Number.MAX_VALUE) < 1e-6;
}

function matches(exp: Expectation, text: string): boolean {
  if (exp.kind === 'any') return true;
  if (exp.kind === 'msg') return exp.text === text;
  return exp.re.test(text);
}

function walkSelectors(e: Expr, visit: (s: VectorSelector) => void): void {
  switch (e.type) {
    case 'vector':
      visit(e);
      return;
    case 'matrix':
      visit(e.vector);
      return;
    case 'subquery':
    case 'paren':
    case 'unary':
      walkSelectors(e.expr, visit);
      return;
    case 'binary':
      walkSelectors(e.lhs, visit);
      walkSelectors(e.rhs, visit);
      return;
    case 'aggregate':
      if (e.param) walkSelectors(e.param, visit);
      walkSelectors(e.expr, visit);
      return;
    case 'call':
      for (const a of e.args) walkSelectors(a, visit);
      return;
    default:
      return;
  }
}

const formatValue = (v: number): string => (isStaleNaN(v) ? 'stale' : formatFloat(v));

/** Runs one script's commands; the store starts empty. */
export class ScriptRunner {
  private storage = new MemoryStorage();
  /** Series that hold native histograms in the reference setup (not loadable here). */
  private histogramSeries: Labels[] = [];
  private startTimestamps = false;
  private readonly engine = new Engine({ lookbackDeltaMs: 300_000, maxSamples: 10_000, timeoutMs: 100_000 });

  async run(commands: Command[]): Promise<EvalOutcome[]> {
    const outcomes: EvalOutcome[] = [];
    for (const c of commands) {
      if (c.kind === 'clear') {
        this.storage = new MemoryStorage();
        this.histogramSeries = [];
        this.startTimestamps = false;
      } else if (c.kind === 'load') {
        await this.load(c);
      } else {
        outcomes.push(await this.evalCommand(c));
      }
    }
    return outcomes;
  }

  private async load(c: LoadCommand): Promise<void> {
    if (c.startTimestamps) this.startTimestamps = true;
    const bySeries = new Map<string, (typeof c.series)[number]>();
    for (const s of c.series) bySeries.set(labelsKey(s.labels), s);
    const app = this.storage.appender();
    for (const s of bySeries.values()) {
      if (s.values.some((v) => v.kind === 'histogram')) this.histogramSeries.push(s.labels);
      if (c.withNhcb) {
        const name = getLabel(s.labels, '__name__') ?? '';
        const family = /^(.*)_(bucket|count|sum)$/.exec(name);
        if (family) {
          this.histogramSeries.push(s.labels.filter((l) => l.name !== 'le').map((l) => (l.name === '__name__' ? { name: l.name, value: family[1]! } : l)));
        }
      }
      let ref = 0;
      s.values.forEach((v, k) => {
        if (v.kind !== 'float') return;
        ref = app.append(ref, s.labels, k * c.intervalMs, v.v);
      });
    }
    await app.commit();
  }

  /** The unsupported feature an eval needs, or null. */
  private unsupportedFeature(c: EvalCommand, expr: Expr): string | null {
    if (this.startTimestamps) return 'start timestamps (@st)';
    if (c.series.some((s) => s.values.some((v) => v.kind === 'histogram'))) return 'native histograms';
    if (this.histogramSeries.length > 0) {
      let hit = false;
      walkSelectors(expr, (sel) => {
        const compiled = sel.matchers.map(compileMatcher);
        if (this.histogramSeries.some((l) => matchesAll(compiled, l))) hit = true;
      });
      if (hit) return 'native histograms';
    }
    return null;
  }

  private async evalCommand(c: EvalCommand): Promise<EvalOutcome> {
    let expr: Expr;
    try {
      expr = parseExpr(c.expr, { stepMs: c.stepMs, rangeMs: c.endMs - c.startMs });
    } catch (err) {
      if (err instanceof UnsupportedFeatureError) return { status: 'skipped', line: c.line, feature: err.feature };
      if (c.fail) return this.checkFailure(c, err as Error);
      return { status: 'failed', line: c.line, expr: c.expr, message: `unexpected error: ${(err as Error).message}` };
    }
    const feature = this.unsupportedFeature(c, expr);
    if (feature) return { status: 'skipped', line: c.line, feature };
    let result: QueryResult;
    try {
      const evalTime = c.rangeVector ? c.rangeVector.endMs : c.startMs;
      result = c.instant
        ? await this.engine.instantQuery(this.storage, c.expr, evalTime)
        : await this.engine.rangeQuery(this.storage, c.expr, c.startMs, c.endMs, c.stepMs);
    } catch (err) {
      if (!(err instanceof QueryError) && !(err instanceof Error)) throw err;
      if (c.fail) return this.checkFailure(c, err);
      return { status: 'failed', line: c.line, expr: c.expr, message: `unexpected error: ${err.message}` };
    }
    if (c.fail) return { status: 'failed', line: c.line, expr: c.expr, message: 'expected the query to fail, it succeeded' };
    const problem = this.checkAnnotations(c, result) ?? this.checkResult(c, result) ?? (await this.checkRangeMode(c));
    if (problem) return { status: 'failed', line: c.line, expr: c.expr, message: problem };
    const pinned = await this.checkAtInvariance(c);
    if (pinned) return { status: 'failed', line: c.line, expr: c.expr, message: pinned };
    return { status: 'passed', line: c.line };
  }

  /** Runs the @-pinned rewrite of an instant eval at the harness's extra times. */
  private async checkAtInvariance(c: EvalCommand): Promise<string | null> {
    if (!c.instant) return null;
    const evalMs = c.rangeVector ? c.rangeVector.endMs : c.startMs;
    const expr = parseExpr(c.expr);
    if (!pinToEvalTime(expr, evalMs)) return null;
    const text = formatExpr(expr);
    for (const t of invarianceTimes(evalMs)) {
      let r: QueryResult;
      try {
        r = await this.engine.instantQuery(this.storage, text, t);
      } catch (err) {
        if (c.fail) {
          if (matches(c.fail, (err as Error).message)) continue;
          return `@ check (${text} at ${t}ms): error ${JSON.stringify((err as Error).message)} does not match`;
        }
        return `@ check (${text} at ${t}ms): ${(err as Error).message}`;
      }
      if (c.fail) return `@ check (${text} at ${t}ms): expected the query to fail, it succeeded`;
      const problem = this.checkAnnotations(c, r) ?? this.checkResult(c, r);
      if (problem) return `@ check (${text} at ${t}ms): ${problem}`;
    }
    return null;
  }

  /**
   * The reference harness's range-mode cross-check: an instant eval run as a range query from
   * T-1m to T+1m must give the same answer at T.
   */
  private async checkRangeMode(c: EvalCommand): Promise<string | null> {
    if (!c.instant || c.rangeVector || c.expectString !== null || /start\(\)|end\(\)|range\(\)|step\(\)/.test(c.expr)) return null;
    const t = c.startMs;
    let r: QueryResult;
    try {
      r = await this.engine.rangeQuery(this.storage, c.expr, t - 60_000, t + 60_000, 60_000);
    } catch (err) {
      return `range-mode check: ${(err as Error).message}`;
    }
    if (c.ordered || r.resultType !== 'matrix') return null;
    for (let i = 1; i < r.result.length; i++) {
      if (compareLabels(r.result[i - 1]!.metric, r.result[i]!.metric) >= 0) return 'range-mode check: matrix is not sorted by labels';
    }
    const atT: { labels: Labels; v: number }[] = [];
    for (const s of r.result) {
      const k = s.timestamps.indexOf(t);
      if (k >= 0) atT.push({ labels: s.metric, v: s.values[k]! });
    }
    let problem: string | null;
    if (c.scalar !== null) {
      const first = atT[0];
      problem = first && floatsMatch(first.v, c.scalar) ? null : `expected scalar ${formatValue(c.scalar)}, got ${first ? formatValue(first.v) : 'nothing'}`;
    } else {
      problem = this.checkVector(c, atT);
    }
    return problem ? `range-mode check: ${problem}` : null;
  }

  private checkFailure(c: EvalCommand, err: Error): EvalOutcome {
    if (matches(c.fail!, err.message)) return { status: 'passed', line: c.line };
    return { status: 'failed', line: c.line, expr: c.expr, message: `error ${JSON.stringify(err.message)} does not match the expected failure` };
  }

  private checkAnnotations(c: EvalCommand, r: QueryResult): string | null {
    const kinds = [
      ['warning', c.warn, c.noWarn, c.anyWarn, r.warnings],
      ['info', c.info, c.noInfo, c.anyInfo, r.infos],
    ] as const;
    for (const [kind, exps, none, any, actual] of kinds) {
      if (none && actual.length > 0) return `expected no ${kind}s, got ${JSON.stringify(actual)}`;
      if (any && actual.length === 0) return `expected a ${kind}, got none`;
      if (exps.length === 0) continue;
      if (actual.length === 0) return `expected a ${kind}, got none`;
      for (const e of exps) if (!actual.some((a) => matches(e, a))) return `no ${kind} matches ${JSON.stringify(e)}; got ${JSON.stringify(actual)}`;
      for (const a of actual) if (!exps.some((e) => matches(e, a))) return `unexpected ${kind} ${JSON.stringify(a)}`;
    }
    return null;
  }

  private checkResult(c: EvalCommand, r: QueryResult): string | null {
    if (c.expectString !== null) {
      if (r.resultType !== 'string') return `expected string ${JSON.stringify(c.expectString)}, got ${r.resultType}`;
      return r.result.v === c.expectString ? null : `expected string ${JSON.stringify(c.expectString)}, got ${JSON.stringify(r.result.v)}`;
    }
    if (c.scalar !== null) {
      if (r.resultType !== 'scalar') return `expected scalar ${formatValue(c.scalar)}, got ${r.resultType}`;
      return floatsMatch(r.result.v, c.scalar) ? null : `expected scalar ${formatValue(c.scalar)}, got ${formatValue(r.result.v)}`;
    }
    if (r.resultType === 'scalar' || r.resultType === 'string') return `expected a vector or matrix, got ${r.resultType}`;
    if (r.resultType === 'vector') return this.checkVector(c, r.result.map((s) => ({ labels: s.metric, v: s.v })));
    return this.checkMatrix(c, r.result);
  }

  private checkVector(c: EvalCommand, got: { labels: Labels; v: number }[]): string | null {
    if (c.rangeVector) return 'expected a range vector, got an instant vector';
    const describe = (): string => got.map((s) => `${formatLabels(s.labels)} ${formatValue(s.v)}`).join(', ') || 'empty';
    if (c.ordered) {
      if (got.length !== c.series.length) return `expected ${c.series.length} samples in order, got ${describe()}`;
      for (let i = 0; i < got.length; i++) {
        const e = c.series[i]!;
        const a = got[i]!;
        const ev = e.values[0];
        if (compareLabels(e.labels, a.labels) !== 0 || !ev || ev.kind !== 'float' || !floatsMatch(a.v, ev.v)) {
          return `sample ${i + 1}: expected ${formatLabels(e.labels)} ${ev && ev.kind === 'float' ? formatValue(ev.v) : '?'}, got ${describe()}`;
        }
      }
      return null;
    }
    const expected = new Map(c.series.map((s) => [labelsKey(s.labels), s]));
    for (const a of got) {
      const e = expected.get(labelsKey(a.labels));
      if (!e) return `unexpected series ${formatLabels(a.labels)} ${formatValue(a.v)}; got ${describe()}`;
      const ev = e.values[0];
      if (e.values.length !== 1 || !ev || ev.kind !== 'float') return `expected one value for ${formatLabels(e.labels)}`;
      if (!floatsMatch(a.v, ev.v)) return `${formatLabels(a.labels)}: expected ${formatValue(ev.v)}, got ${formatValue(a.v)}`;
    }
    const gotKeys = new Set(got.map((a) => labelsKey(a.labels)));
    for (const e of c.series) if (!gotKeys.has(labelsKey(e.labels))) return `missing series ${formatLabels(e.labels)}; got ${describe()}`;
    return null;
  }

  private checkMatrix(c: EvalCommand, got: { metric: Labels; timestamps: Float64Array; values: Float64Array }[]): string | null {
    if (c.ordered) return 'expect ordered on a range result';
    if (c.instant && !c.rangeVector) return got.length === 0 && c.series.length === 0 ? null : 'got a range vector from an instant query';
    for (let i = 1; i < got.length; i++) if (compareLabels(got[i - 1]!.metric, got[i]!.metric) >= 0) return 'matrix result is not sorted by labels';
    const start = c.rangeVector ? c.rangeVector.startMs : c.startMs;
    const step = c.rangeVector ? c.rangeVector.stepMs : c.stepMs;
    const expected = new Map(c.series.map((s) => [labelsKey(s.labels), s]));
    for (const a of got) {
      const e = expected.get(labelsKey(a.metric));
      const pts = Array.from(a.timestamps, (t, i) => `${formatValue(a.values[i]!)}@${t / 1000}`).join(' ');
      if (!e) return `unexpected series ${formatLabels(a.metric)}: ${pts}`;
      const want: { t: number; v: number }[] = [];
      e.values.forEach((v: SeqValue, i) => {
        if (v.kind === 'float') want.push({ t: start + i * step, v: v.v });
      });
      const wantText = want.map((p) => `${formatValue(p.v)}@${p.t / 1000}`).join(' ');
      if (want.length !== a.timestamps.length) return `${formatLabels(a.metric)}: expected ${wantText}, got ${pts}`;
      for (let i = 0; i < want.length; i++) {
        if (want[i]!.t !== a.timestamps[i] || !floatsMatch(a.values[i]!, want[i]!.v)) return `${formatLabels(a.metric)}: expected ${wantText}, got ${pts}`;
      }
    }
    const gotKeys = new Set(got.map((a) => labelsKey(a.metric)));
    for (const e of c.series) if (!gotKeys.has(labelsKey(e.labels))) return `missing series ${formatLabels(e.labels)}`;
    return null;
  }
}
