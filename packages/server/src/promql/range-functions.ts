/**
 * Functions over range vectors (`rate`, `*_over_time`, …). Each one reads the points of one
 * series inside one step's window [lo, hi) of its typed arrays and returns the step's value.
 */
import { kahanInc, kahanOut, quantileOf } from './float-math.js';

/** Per-call state shared with the window functions; `skip` set means "no sample at this step". */
export interface WindowContext {
  /** Window bounds (ms): (rangeStart, rangeEnd]. */
  rangeStart: number;
  rangeEnd: number;
  rangeMs: number;
  /** The step's evaluation time, ms. */
  stepTime: number;
  /** Scalar parameters at this step (e.g. quantile, smoothing factors). */
  p0: number;
  p1: number;
  skip: boolean;
  /** Set by the rate family when a counter function sees data it considers a non-counter. */
  scratch: Float64Array;
}

function extrapolatedRate(ts: Float64Array, vs: Float64Array, lo: number, hi: number, c: WindowContext, isCounter: boolean, isRate: boolean): number {
  const count = hi - lo;
  if (count < 2) {
    c.skip = true;
    return 0;
  }
  const first = vs[lo]!;
  let result = vs[hi - 1]! - first;
  if (isCounter) {
    let prev = first;
    for (let i = lo + 1; i < hi; i++) {
      const cur = vs[i]!;
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  const firstT = ts[lo]!;
  const lastT = ts[hi - 1]!;
  let durationToStart = (firstT - c.rangeStart) / 1000;
  let durationToEnd = (c.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avgBetween = sampledInterval / (count - 1);
  const threshold = avgBetween * 1.1;
  if (durationToStart >= threshold) durationToStart = avgBetween / 2;
  if (isCounter && result > 0 && first >= 0) {
    // A counter cannot go below zero: do not extrapolate past its likely zero point.
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= c.rangeMs / 1000;
  return result * factor;
}

function instantValue(ts: Float64Array, vs: Float64Array, hi: number, lo: number, c: WindowContext, isRate: boolean): number {
  if (hi - lo < 2) {
    c.skip = true;
    return 0;
  }
  const last = vs[hi - 1]!;
  const prev = vs[hi - 2]!;
  const result = isRate && last < prev ? last : last - prev;
  const interval = ts[hi - 1]! - ts[hi - 2]!;
  if (interval === 0) {
    c.skip = true;
    return 0;
  }
  return isRate ? result / (interval / 1000) : result;
}

/** Least-squares fit of the window; returns slope and writes the intercept to scratch[0]. */
function linearRegression(ts: Float64Array, vs: Float64Array, lo: number, hi: number, interceptTime: number, scratch: Float64Array): number {
  const initY = vs[lo]!;
  let constY = true;
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  for (let i = lo; i < hi; i++) {
    const y = vs[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n++;
    const x = (ts[i]! - interceptTime) / 1000;
    kahanInc(x, sumX, cX);
    sumX = kahanOut[0]!;
    cX = kahanOut[1]!;
    kahanInc(y, sumY, cY);
    sumY = kahanOut[0]!;
    cY = kahanOut[1]!;
    kahanInc(x * y, sumXY, cXY);
    sumXY = kahanOut[0]!;
    cXY = kahanOut[1]!;
    kahanInc(x * x, sumX2, cX2);
    sumX2 = kahanOut[0]!;
    cX2 = kahanOut[1]!;
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) {
      scratch[0] = NaN;
      return NaN;
    }
    scratch[0] = initY;
    return 0;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  scratch[0] = sumY / n - (slope * sumX) / n;
  return slope;
}

function avgOverTime(vs: Float64Array, lo: number, hi: number): number {
  let sum = vs[lo]!;
  let comp = 0;
  let mean = 0;
  let incremental = false;
  let count = 1;
  for (let i = lo + 1; i < hi; i++) {
    const f = vs[i]!;
    count = i - lo + 1;
    if (!incremental) {
      kahanInc(f, sum, comp);
      if (kahanOut[0] !== Infinity && kahanOut[0] !== -Infinity) {
        sum = kahanOut[0]!;
        comp = kahanOut[1]!;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      comp /= count - 1;
    }
    const q = (count - 1) / count;
    kahanInc(f / count, q * mean, q * comp);
    mean = kahanOut[0]!;
    comp = kahanOut[1]!;
  }
  if (incremental) return mean + comp;
  return sum / count + comp / count;
}

function varianceOverTime(vs: Float64Array, lo: number, hi: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = lo; i < hi; i++) {
    const f = vs[i]!;
    count++;
    const delta = f - (mean + cMean);
    kahanInc(delta / count, mean, cMean);
    mean = kahanOut[0]!;
    cMean = kahanOut[1]!;
    kahanInc(delta * (f - (mean + cMean)), aux, cAux);
    aux = kahanOut[0]!;
    cAux = kahanOut[1]!;
  }
  return (aux + cAux) / count;
}

function trendValue(i: number, tf: number, s0: number, s1: number, b: number): number {
  if (i === 0) return b;
  return tf * (s1 - s0) + (1 - tf) * b;
}

/** Index of the extreme value per Prometheus's NaN rules (a NaN is replaced by any number). */
function extremeIndex(vs: Float64Array, lo: number, hi: number, max: boolean): number {
  let best = lo;
  for (let i = lo + 1; i < hi; i++) {
    const v = vs[i]!;
    const b = vs[best]!;
    if ((max ? v > b : v < b) || (b !== b && v === v)) best = i;
  }
  return best;
}

function median(values: Float64Array): number {
  return quantileOf(0.5, values);
}

const WINDOW_NAMES = [
  'rate',
  'increase',
  'delta',
  'irate',
  'idelta',
  'avg_over_time',
  'sum_over_time',
  'count_over_time',
  'max_over_time',
  'min_over_time',
  'ts_of_max_over_time',
  'ts_of_min_over_time',
  'last_over_time',
  'first_over_time',
  'ts_of_last_over_time',
  'ts_of_first_over_time',
  'present_over_time',
  'stdvar_over_time',
  'stddev_over_time',
  'quantile_over_time',
  'mad_over_time',
  'changes',
  'resets',
  'deriv',
  'predict_linear',
  'double_exponential_smoothing',
] as const;

/** Window functions by name, as ids for windowValue. Functions absent here are not range functions. */
export const WINDOW_FUNCTIONS: ReadonlyMap<string, number> = new Map(WINDOW_NAMES.map((name, id) => [name, id]));

function sumOverTime(vs: Float64Array, lo: number, hi: number): number {
  let sum = 0;
  let comp = 0;
  for (let i = lo; i < hi; i++) {
    kahanInc(vs[i]!, sum, comp);
    sum = kahanOut[0]!;
    comp = kahanOut[1]!;
  }
  return sum + comp;
}

function madOverTime(vs: Float64Array, lo: number, hi: number): number {
  const window = vs.slice(lo, hi);
  if (window.some((v) => v !== v)) return NaN;
  const med = median(window.slice());
  for (let i = 0; i < window.length; i++) window[i] = Math.abs(window[i]! - med);
  return median(window);
}

function changes(vs: Float64Array, lo: number, hi: number): number {
  let n = 0;
  let prev = vs[lo]!;
  for (let i = lo + 1; i < hi; i++) {
    const cur = vs[i]!;
    if (!(cur === prev || (cur !== cur && prev !== prev))) n++;
    prev = cur;
  }
  return n;
}

function resets(vs: Float64Array, lo: number, hi: number): number {
  let n = 0;
  let prev = vs[lo]!;
  for (let i = lo + 1; i < hi; i++) {
    const cur = vs[i]!;
    if (cur < prev) n++;
    prev = cur;
  }
  return n;
}

function doubleExponentialSmoothing(vs: Float64Array, lo: number, hi: number, c: WindowContext): number {
  const sf = c.p0;
  const tf = c.p1;
  if (hi - lo < 2) {
    c.skip = true;
    return 0;
  }
  let s0 = 0;
  let s1 = vs[lo]!;
  let b = vs[lo + 1]! - vs[lo]!;
  for (let i = 1; i < hi - lo; i++) {
    const x = sf * vs[lo + i]!;
    b = trendValue(i - 1, tf, s0, s1, b);
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/**
 * Value of window function `id` over points [lo, hi). One switch with direct calls keeps the
 * per-step call site monomorphic, so the engine can inline the common functions.
 */
export function windowValue(id: number, ts: Float64Array, vs: Float64Array, lo: number, hi: number, c: WindowContext): number {
  switch (id) {
    case 0:
      return extrapolatedRate(ts, vs, lo, hi, c, true, true);
    case 1:
      return extrapolatedRate(ts, vs, lo, hi, c, true, false);
    case 2:
      return extrapolatedRate(ts, vs, lo, hi, c, false, false);
    case 3:
      return instantValue(ts, vs, hi, lo, c, true);
    case 4:
      return instantValue(ts, vs, hi, lo, c, false);
    case 5:
      return avgOverTime(vs, lo, hi);
    case 6:
      return sumOverTime(vs, lo, hi);
    case 7:
      return hi - lo;
    case 8:
      return vs[extremeIndex(vs, lo, hi, true)]!;
    case 9:
      return vs[extremeIndex(vs, lo, hi, false)]!;
    case 10:
      return ts[extremeIndex(vs, lo, hi, true)]! / 1000;
    case 11:
      return ts[extremeIndex(vs, lo, hi, false)]! / 1000;
    case 12:
      return vs[hi - 1]!;
    case 13:
      return vs[lo]!;
    case 14:
      return ts[hi - 1]! / 1000;
    case 15:
      return ts[lo]! / 1000;
    case 16:
      return 1;
    case 17:
      return varianceOverTime(vs, lo, hi);
    case 18:
      return Math.sqrt(varianceOverTime(vs, lo, hi));
    case 19:
      return quantileOf(c.p0, vs.slice(lo, hi));
    case 20:
      return madOverTime(vs, lo, hi);
    case 21:
      return changes(vs, lo, hi);
    case 22:
      return resets(vs, lo, hi);
    case 23:
      if (hi - lo < 2) {
        c.skip = true;
        return 0;
      }
      return linearRegression(ts, vs, lo, hi, ts[lo]!, c.scratch);
    case 24: {
      if (hi - lo < 2) {
        c.skip = true;
        return 0;
      }
      const slope = linearRegression(ts, vs, lo, hi, c.stepTime, c.scratch);
      return slope * c.p0 + c.scratch[0]!;
    }
    default:
      return doubleExponentialSmoothing(vs, lo, hi, c);
  }
}

/** Range functions that keep the metric name. */
export const NAME_KEEPING_WINDOW_FUNCTIONS: ReadonlySet<string> = new Set(['last_over_time', 'first_over_time']);
