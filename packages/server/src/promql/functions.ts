/** Function calls: dispatch to window (range-vector) functions and the instant-vector functions. */
import { METRIC_NAME, compareLabels, getLabel, labelsFromPairs, EMPTY_LABELS, type Labels } from '../model/labels.js';
import type { Call, Expr, MatrixSelector, SubqueryExpr } from './ast.js';
import { executionError } from './errors.js';
import { mergeSameLabels, unwrapParens, type Evaluator } from './evaluator.js';
import { histogramFraction, histogramQuantile, histogramQuantiles } from './histogram-functions.js';
import { anchoredValue, checkBoundaryFunction, smoothedValue, type BoundaryWindow } from './extended-windows.js';
import { evalInfo } from './info-function.js';
import { labelJoiner, labelReplacer, naturalCompare } from './label-functions.js';
import { NAME_KEEPING_WINDOW_FUNCTIONS, WINDOW_FUNCTIONS, windowValue, type WindowContext } from './range-functions.js';
import { StepSeriesBlock, newStepSeries, type EvalValue, type Grid, type StepSeries } from './value.js';

const MATH: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (x) => (x * 180) / Math.PI,
  rad: (x) => (x * Math.PI) / 180,
  sgn: (x) => (x < 0 ? -1 : x > 0 ? 1 : x),
};

const DATE_PARTS: Record<string, (d: Date) => number> = {
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Functions whose output keeps the input's metric name. */
const NAME_KEEPING = new Set(['sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc', 'label_replace', 'label_join']);

const NATIVE_HISTOGRAM_FUNCTIONS = new Set(['histogram_count', 'histogram_sum', 'histogram_avg', 'histogram_stddev', 'histogram_stdvar']);

function mapValues(series: StepSeries[], f: (x: number) => number): StepSeries[] {
  for (const s of series) {
    const v = s.values;
    for (let i = 0; i < v.length; i++) if (s.present[i]) v[i] = f(v[i]!);
    s.dropName = true;
  }
  return series;
}

function vec(series: StepSeries[]): EvalValue {
  return { kind: 'vector', series };
}

function scalarValue(values: Float64Array): EvalValue {
  return { kind: 'scalar', values };
}

function stringArg(ev: Evaluator, e: Expr, g: Grid): string {
  const v = ev.eval(e, g);
  if (v.kind !== 'string') throw executionError('expected string argument');
  return v.value;
}

export function evalCall(ev: Evaluator, call: Call, g: Grid): EvalValue {
  const name = call.func;
  const args = call.args;
  if (WINDOW_FUNCTIONS.has(name) || name === 'absent_over_time') return vec(windowCall(ev, call, g));
  const math = MATH[name];
  if (math) return vec(mapValues(ev.vector(args[0]!, g), math));
  const datePart = DATE_PARTS[name];
  if (datePart) return vec(dateFunction(ev, args[0], g, datePart));
  if (NATIVE_HISTOGRAM_FUNCTIONS.has(name)) {
    // Only native histograms carry these; float samples are ignored, as in Prometheus.
    ev.vector(args[0]!, g);
    return vec([]);
  }
  const stepTimes = (): Float64Array => {
    const t = new Float64Array(g.n);
    for (let i = 0; i < g.n; i++) t[i] = (g.start + i * g.step) / 1000;
    return t;
  };
  switch (name) {
    case 'time':
      return scalarValue(stepTimes());
    case 'pi':
      return scalarValue(new Float64Array(g.n).fill(Math.PI));
    case 'start':
      return scalarValue(new Float64Array(g.n).fill(ev.ctx.startMs / 1000));
    case 'end':
      return scalarValue(new Float64Array(g.n).fill(ev.ctx.endMs / 1000));
    case 'range':
      return scalarValue(new Float64Array(g.n).fill((ev.ctx.endMs - ev.ctx.startMs) / 1000));
    case 'step':
      return scalarValue(new Float64Array(g.n).fill(g.step / 1000));
    case 'vector': {
      const s = newStepSeries(EMPTY_LABELS, g.n, false);
      s.values.set(ev.scalar(args[0]!, g));
      s.present.fill(1);
      return vec([s]);
    }
    case 'scalar': {
      const series = ev.vector(args[0]!, g);
      const out = new Float64Array(g.n);
      for (let i = 0; i < g.n; i++) {
        let found = -1;
        for (let k = 0; k < series.length; k++) {
          if (!series[k]!.present[i]) continue;
          found = found === -1 ? k : -2;
          if (found === -2) break;
        }
        out[i] = found >= 0 ? series[found]!.values[i]! : NaN;
      }
      return scalarValue(out);
    }
    case 'timestamp': {
      const arg = unwrapParens(args[0]!);
      if (arg.type === 'vector') return vec(ev.selectorTimestamps(arg, g));
      const series = ev.vector(arg, g);
      const times = stepTimes();
      for (const s of series) {
        for (let i = 0; i < g.n; i++) s.values[i] = times[i]!;
        s.dropName = true;
      }
      return vec(series);
    }
    case 'clamp':
    case 'clamp_min':
    case 'clamp_max':
      return vec(clamp(ev, call, g));
    case 'round': {
      const series = ev.vector(args[0]!, g);
      const to = args[1] ? ev.scalar(args[1], g) : new Float64Array(g.n).fill(1);
      for (const s of series) {
        for (let i = 0; i < g.n; i++) {
          if (!s.present[i]) continue;
          const inv = 1 / to[i]!;
          s.values[i] = Math.floor(s.values[i]! * inv + 0.5) / inv;
        }
        s.dropName = true;
      }
      return vec(series);
    }
    case 'absent':
      return vec(absent(ev, call, g));
    case 'label_replace': {
      const relabel = labelReplacer(stringArg(ev, args[1]!, g), stringArg(ev, args[2]!, g), stringArg(ev, args[3]!, g), stringArg(ev, args[4]!, g));
      return vec(relabelAll(ev.vector(args[0]!, g), relabel, stringArg(ev, args[1]!, g), g.n));
    }
    case 'label_join': {
      const srcs = args.slice(3).map((a) => stringArg(ev, a, g));
      const relabel = labelJoiner(stringArg(ev, args[1]!, g), stringArg(ev, args[2]!, g), srcs);
      return vec(relabelAll(ev.vector(args[0]!, g), relabel, stringArg(ev, args[1]!, g), g.n));
    }
    case 'sort':
    case 'sort_desc':
      return vec(sortByValue(ev.vector(args[0]!, g), name === 'sort_desc', g.n));
    case 'sort_by_label':
    case 'sort_by_label_desc': {
      const names = args.slice(1).map((a) => stringArg(ev, a, g));
      return vec(sortByLabel(ev.vector(args[0]!, g), names, name === 'sort_by_label_desc'));
    }
    case 'histogram_quantile':
      return vec(histogramQuantile(ev, call, g));
    case 'histogram_quantiles':
      return vec(histogramQuantiles(ev, call, g));
    case 'histogram_fraction':
      return vec(histogramFraction(ev, call, g));
    case 'info':
      return vec(evalInfo(ev, call, g));
    default:
      if (NAME_KEEPING.has(name)) return vec(ev.vector(args[0]!, g));
      throw executionError(`function ${JSON.stringify(name)} is not supported`);
  }
}

function dateFunction(ev: Evaluator, arg: Expr | undefined, g: Grid, part: (d: Date) => number): StepSeries[] {
  let series: StepSeries[];
  if (arg) {
    series = ev.vector(arg, g);
  } else {
    const s = newStepSeries(EMPTY_LABELS, g.n, false);
    for (let i = 0; i < g.n; i++) s.values[i] = (g.start + i * g.step) / 1000;
    s.present.fill(1);
    series = [s];
  }
  const d = new Date(0);
  return mapValues(series, (x) => {
    if (!Number.isFinite(x)) return NaN;
    d.setTime(Math.trunc(x) * 1000);
    return part(d);
  });
}

function clamp(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const series = ev.vector(call.args[0]!, g);
  const a = ev.scalar(call.args[1]!, g);
  const b = call.func === 'clamp' ? ev.scalar(call.args[2]!, g) : null;
  for (const s of series) {
    for (let i = 0; i < g.n; i++) {
      if (!s.present[i]) continue;
      const v = s.values[i]!;
      if (call.func === 'clamp') {
        const lo = a[i]!;
        const hi = b![i]!;
        if (hi < lo) s.present[i] = 0;
        else s.values[i] = Math.max(lo, Math.min(hi, v));
      } else if (call.func === 'clamp_min') {
        s.values[i] = Math.max(a[i]!, v);
      } else {
        s.values[i] = Math.min(a[i]!, v);
      }
    }
    s.dropName = true;
  }
  return series.filter((s) => s.present.some((p) => p === 1));
}

/** The labels absent()/absent_over_time() give their output: the selector's equality matchers. */
function absentLabels(arg: Expr): Labels {
  const sel = arg.type === 'vector' ? arg : arg.type === 'matrix' ? arg.vector : null;
  if (!sel) return EMPTY_LABELS;
  const pairs = new Map<string, string>();
  const seen = new Set<string>();
  for (const m of sel.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !seen.has(m.name)) {
      pairs.set(m.name, m.value);
      seen.add(m.name);
    } else {
      pairs.delete(m.name);
    }
  }
  return labelsFromPairs(pairs);
}

function absent(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const series = ev.vector(call.args[0]!, g);
  const out = newStepSeries(absentLabels(call.args[0]!), g.n, false);
  for (let i = 0; i < g.n; i++) {
    if (series.some((s) => s.present[i] === 1)) continue;
    out.present[i] = 1;
    out.values[i] = 1;
  }
  return out.present.some((p) => p === 1) ? [out] : [];
}

function relabelAll(series: StepSeries[], relabel: (l: Labels) => Labels, dst: string, n: number): StepSeries[] {
  for (const s of series) {
    s.labels = relabel(s.labels);
    // Writing __name__ explicitly keeps it: it is no longer the name a function would drop.
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return mergeSameLabels(series, n);
}

function sortByValue(series: StepSeries[], desc: boolean, n: number): StepSeries[] {
  if (n !== 1) return series;
  return series.sort((a, b) => {
    const x = a.values[0]!;
    const y = b.values[0]!;
    if (x !== x) return y !== y ? 0 : 1;
    if (y !== y) return -1;
    return desc ? y - x : x - y;
  });
}

function sortByLabel(series: StepSeries[], names: string[], desc: boolean): StepSeries[] {
  const sign = desc ? -1 : 1;
  return series.sort((a, b) => {
    for (const name of names) {
      const x = getLabel(a.labels, name) ?? '';
      const y = getLabel(b.labels, name) ?? '';
      if (x === y) continue;
      return sign * naturalCompare(x, y);
    }
    return sign * compareLabels(a.labels, b.labels);
  });
}

function windowCall(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const name = call.func;
  const matrixIndex = call.args.findIndex((a) => {
    const x = unwrapParens(a);
    return x.type === 'matrix' || x.type === 'subquery';
  });
  const matrixExpr = unwrapParens(call.args[matrixIndex]!) as MatrixSelector | SubqueryExpr;
  const params = call.args.filter((_, i) => i !== matrixIndex).map((a) => ev.scalar(a, g));
  const p0 = params[0];
  const p1 = params[1];
  if (name === 'quantile_over_time' && p0) {
    for (let i = 0; i < g.n; i++) {
      const q = p0[i]!;
      if (q !== q || q < 0 || q > 1) ev.annotations.warn(`quantile value should be between 0 and 1, got ${String(q)}`, call.args[0]!.pos);
    }
  }
  if (name === 'double_exponential_smoothing' && p0 && p1) {
    for (let i = 0; i < g.n; i++) {
      if (!(p0[i]! > 0 && p0[i]! < 1)) throw executionError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${p0[i]!.toFixed(6)}`);
      if (!(p1[i]! > 0 && p1[i]! < 1)) throw executionError(`invalid trend factor. Expected: 0 < tf < 1, got: ${p1[i]!.toFixed(6)}`);
    }
  }
  const m = ev.matrix(matrixExpr, g);
  checkBoundaryFunction(m.boundary, name);
  if (name === 'absent_over_time' || name === 'present_over_time') return presence(m, g, name === 'absent_over_time', matrixExpr);
  const fnId = WINDOW_FUNCTIONS.get(name)!;
  const extrapolates = name === 'rate' || name === 'increase' || name === 'delta';
  const keepName = NAME_KEEPING_WINDOW_FUNCTIONS.has(name);
  const isCounterFn = name === 'rate' || name === 'increase';
  const ctx: WindowContext = { rangeStart: 0, rangeEnd: 0, rangeMs: m.rangeMs, stepTime: 0, p0: 0, p1: 0, skip: false, scratch: new Float64Array(1) };
  const bw: BoundaryWindow = { start: 0, end: 0, rangeMs: m.rangeMs, lookbackMs: ev.ctx.lookbackMs, skip: false };
  const out: StepSeries[] = [];
  const block = new StepSeriesBlock(m.series.length, g.n);
  for (const s of m.series) {
    ev.checkDeadline();
    const ts = s.timestamps;
    const vs = s.values;
    const res = block.take(s.labels, keepName ? s.dropName : true);
    let lo = 0;
    let hi = 0;
    let any = false;
    for (let i = 0; i < g.n; i++) {
      const end = m.windowEnds[i]!;
      const start = end - m.rangeMs;
      while (hi < ts.length && ts[hi]! <= end) hi++;
      if (hi < lo) lo = hi;
      while (lo < hi && ts[lo]! <= start) lo++;
      if (hi === lo && m.boundary !== 'smoothed') continue;
      // Only what the function reads is written: these stores are per step and series.
      if (extrapolates) {
        ctx.rangeStart = start;
        ctx.rangeEnd = end;
      }
      if (p0) {
        ctx.stepTime = g.start + i * g.step;
        ctx.p0 = p0[i]!;
        ctx.p1 = p1 ? p1[i]! : 0;
      }
      ctx.skip = false;
      let v: number;
      if (m.boundary) {
        bw.start = start;
        bw.end = end;
        bw.skip = false;
        v = m.boundary === 'anchored' ? anchoredValue(name, ts, vs, lo, hi, bw) : smoothedValue(name, ts, vs, lo, hi, bw);
        if (bw.skip) continue;
      } else {
        if (hi === lo) continue;
        v = windowValue(fnId, ts, vs, lo, hi, ctx);
      }
      if (ctx.skip) continue;
      res.values[i] = v;
      res.present[i] = 1;
      any = true;
    }
    if (!any) {
      block.giveBack(res);
      continue;
    }
    out.push(res);
    if (isCounterFn) {
      const metric = getLabel(s.labels, METRIC_NAME) ?? '';
      if (metric !== '' && !/_(total|sum|count|bucket)$/.test(metric)) {
        ev.annotations.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(metric)}`, call.args[matrixIndex]!.pos);
      }
    }
  }
  return out;
}

function presence(m: ReturnType<Evaluator['matrix']>, g: Grid, absentMode: boolean, arg: Expr): StepSeries[] {
  const any = new Uint8Array(g.n);
  const out: StepSeries[] = [];
  for (const s of m.series) {
    const ts = s.timestamps;
    const res = newStepSeries(s.labels, g.n, true);
    let found = false;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < g.n; i++) {
      const end = m.windowEnds[i]!;
      while (hi < ts.length && ts[hi]! <= end) hi++;
      if (hi < lo) lo = hi;
      while (lo < hi && ts[lo]! <= end - m.rangeMs) lo++;
      if (hi === lo) continue;
      any[i] = 1;
      res.present[i] = 1;
      res.values[i] = 1;
      found = true;
    }
    if (found) out.push(res);
  }
  if (!absentMode) return out;
  const res = newStepSeries(absentLabels(arg), g.n, false);
  for (let i = 0; i < g.n; i++) {
    if (any[i]) continue;
    res.present[i] = 1;
    res.values[i] = 1;
  }
  return res.present.some((p) => p === 1) ? [res] : [];
}
