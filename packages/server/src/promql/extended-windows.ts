/**
 * The experimental extended range selectors: `anchored` (the window also takes the last sample
 * at or before its start, found within the lookback delta) and `smoothed` (values at the window
 * edges are interpolated linearly between the neighbouring samples). Staleness markers are
 * already removed from the points these functions read.
 */
import { executionError } from './errors.js';
import type { BoundaryMode } from './ast.js';
import { upperBound } from './value.js';

const ANCHORED_FUNCTIONS = ['changes', 'delta', 'increase', 'rate', 'resets'];
const SMOOTHED_FUNCTIONS = ['delta', 'increase', 'rate'];

/** Throws Prometheus's error when a function does not support the selector's boundary mode. */
export function checkBoundaryFunction(mode: BoundaryMode, func: string): void {
  if (!mode) return;
  const allowed = mode === 'anchored' ? ANCHORED_FUNCTIONS : SMOOTHED_FUNCTIONS;
  if (!allowed.includes(func)) throw executionError(`${mode} modifier can only be used with: ${allowed.join(', ')} - not with ${func}`);
}

/** The window a function sees: points [lo, hi) are inside (start, end]. */
export interface BoundaryWindow {
  start: number;
  end: number;
  rangeMs: number;
  lookbackMs: number;
  /** Set when the step has no result. */
  skip: boolean;
}

/** Value of a function over a sequence whose first and last values are given separately. */
function over(func: string, first: number, vs: Float64Array, lo: number, hi: number, last: number, hasLast: boolean, rangeMs: number): number {
  let changes = 0;
  let resets = 0;
  let correction = 0;
  let prev = first;
  const step = (cur: number): void => {
    if (!(cur === prev || (cur !== cur && prev !== prev))) changes++;
    if (cur < prev) {
      resets++;
      correction += prev;
    }
    prev = cur;
  };
  for (let i = lo; i < hi; i++) step(vs[i]!);
  if (hasLast) step(last);
  switch (func) {
    case 'changes':
      return changes;
    case 'resets':
      return resets;
    case 'delta':
      return prev - first;
    case 'increase':
      return prev - first + correction;
    default:
      return (prev - first + correction) / (rangeMs / 1000);
  }
}

/** `anchored`: the last sample at or before the start (within the lookback) opens the window. */
export function anchoredValue(func: string, ts: Float64Array, vs: Float64Array, lo: number, hi: number, w: BoundaryWindow): number {
  if (hi === lo) {
    w.skip = true;
    return 0;
  }
  const anchor = lo > 0 && ts[lo - 1]! > w.start - w.lookbackMs ? vs[lo - 1]! : vs[lo]!;
  return over(func, anchor, vs, lo, hi, 0, false, w.rangeMs);
}

/** Linear interpolation at time t between the points at indices b (before) and a (after). */
function interpolate(ts: Float64Array, vs: Float64Array, b: number, a: number, t: number): number {
  const tb = ts[b]!;
  const ta = ts[a]!;
  const vb = vs[b]!;
  return vb + ((vs[a]! - vb) * (t - tb)) / (ta - tb);
}

/** `smoothed`: values at both edges are interpolated; no result without data on both sides of the range. */
export function smoothedValue(func: string, ts: Float64Array, vs: Float64Array, lo: number, hi: number, w: BoundaryWindow): number {
  const n = ts.length;
  const before = lo > 0 && ts[lo - 1]! > w.start - w.lookbackMs ? lo - 1 : -1;
  const after = hi < n && ts[hi]! < w.end + w.lookbackMs ? hi : -1;
  if (before < 0 && hi === lo) {
    w.skip = true;
    return 0;
  }
  let first: number;
  if (before < 0) first = vs[lo]!;
  else if (ts[before] === w.start) first = vs[before]!;
  else if (lo < n && ts[lo]! < w.start + w.lookbackMs) first = interpolate(ts, vs, before, lo, w.start);
  else {
    w.skip = true;
    return 0;
  }
  let last: number;
  if (after >= 0 && hi > 0) last = interpolate(ts, vs, hi - 1, after, w.end);
  else if (hi > lo) last = vs[hi - 1]!;
  else {
    w.skip = true;
    return 0;
  }
  // The inner points sit between the two interpolated edges.
  return over(func, first, vs, lo, hi, last, true, w.rangeMs);
}

/** A smoothed instant selector's value at t, or null when there is none. */
export function smoothedAt(ts: Float64Array, vs: Float64Array, t: number, lookbackMs: number): number | null {
  const lo = upperBound(ts, t);
  const b = lo - 1;
  if (b < 0 || ts[b]! <= t - lookbackMs) return null;
  if (ts[b] === t || lo >= ts.length || ts[lo]! >= t + lookbackMs) return vs[b]!;
  return interpolate(ts, vs, b, lo, t);
}
