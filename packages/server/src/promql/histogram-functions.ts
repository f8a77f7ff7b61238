/** histogram_quantile and histogram_fraction over classic (`le`-labelled) bucket series. */
import { METRIC_NAME, getLabel, labelsKey, setLabel, type Label, type Labels } from '../model/labels.js';
import { formatFloat } from './float-math.js';
import type { Call } from './ast.js';
import { mergeSameLabels, type Evaluator } from './evaluator.js';
import { newStepSeries, withoutMetricIdentity, type Grid, type StepSeries } from './value.js';

const BUCKET_LABEL = 'le';
/** Relative difference below which adjacent bucket counts are treated as equal. */
const SMALL_DELTA_TOLERANCE = 1e-12;

/** Parses a float as Go's strconv.ParseFloat does for `le` values; NaN when malformed. */
function parseGoFloat(s: string): number {
  const lower = s.toLowerCase();
  const m = /^([+-]?)(inf|infinity|nan)$/.exec(lower);
  if (m) return m[2] === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
  if (/^[+-]?(\d[\d_]*\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[+-]?0x[0-9a-f]+$/i.test(s)) {
    const v = parseInt(s.replace(/^[+-]?0x/i, ''), 16);
    return s.startsWith('-') ? -v : v;
  }
  return NaN;
}

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a === b) return true;
  const abs = Math.abs;
  const diff = abs(a - b);
  const sum = abs(a) + abs(b);
  if (a === 0 || b === 0 || sum < 2.2250738585072014e-308) return diff < epsilon * 2.2250738585072014e-308;
  return diff / Math.min(sum, Number.MAX_VALUE) < epsilon;
}

interface BucketGroup {
  readonly labels: Labels;
  readonly name: string;
  readonly bounds: number[];
  readonly members: StepSeries[];
}

function bucketGroups(ev: Evaluator, input: StepSeries[], call: Call): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  const pos = call.args[call.func === 'histogram_quantiles' ? 0 : call.args.length - 1]!.pos;
  for (const s of input) {
    const le = getLabel(s.labels, BUCKET_LABEL) ?? '';
    const bound = parseGoFloat(le);
    const name = getLabel(s.labels, METRIC_NAME) ?? '';
    if (le === '' || (bound !== bound && le.toLowerCase() !== 'nan')) {
      ev.annotations.warn(`bucket label ${JSON.stringify(BUCKET_LABEL)} is missing or has a malformed value of ${JSON.stringify(le)} for metric name ${JSON.stringify(name)}`, pos);
      continue;
    }
    const key = labelsKey(s.labels.filter((l) => l.name !== BUCKET_LABEL));
    let g = groups.get(key);
    if (!g) {
      g = { labels: withoutMetricIdentity(s.labels).filter((l) => l.name !== BUCKET_LABEL), name, bounds: [], members: [] };
      groups.set(key, g);
    }
    g.bounds.push(bound);
    g.members.push(s);
  }
  return [...groups.values()].map(sortGroup);
}

/** Bucket bounds and counts of one group at one step, sorted by bound and coalesced. */
function bucketsAt(g: BucketGroup, i: number, bounds: Float64Array, counts: Float64Array): number {
  let n = 0;
  // Members are kept sorted by bound (see sortGroup), so one pass builds the step's buckets.
  for (let k = 0; k < g.members.length; k++) {
    const s = g.members[k]!;
    if (!s.present[i]) continue;
    const b = g.bounds[k]!;
    const c = s.values[i]!;
    if (n > 0 && bounds[n - 1] === b) counts[n - 1] = counts[n - 1]! + c;
    else {
      bounds[n] = b;
      counts[n++] = c;
    }
  }
  return n;
}

/** Sorts a group's members by bucket bound, once per query. */
function sortGroup(g: BucketGroup): BucketGroup {
  const order = g.members.map((_, k) => k).sort((a, b) => g.bounds[a]! - g.bounds[b]!);
  return { ...g, bounds: order.map((k) => g.bounds[k]!), members: order.map((k) => g.members[k]!) };
}

/** Forces cumulative counts to be monotonic; returns whether a real decrease was fixed. */
function ensureMonotonic(counts: Float64Array, n: number): boolean {
  let forced = false;
  let prev = counts[0]!;
  for (let i = 1; i < n; i++) {
    const cur = counts[i]!;
    if (cur === prev) continue;
    if (almostEqual(prev, cur, SMALL_DELTA_TOLERANCE)) {
      counts[i] = prev;
      continue;
    }
    if (cur < prev) {
      counts[i] = prev;
      forced = true;
      continue;
    }
    prev = cur;
  }
  return forced;
}

let forcedMonotonic = false;

function bucketQuantile(q: number, bounds: Float64Array, counts: Float64Array, n: number): number {
  forcedMonotonic = false;
  if (q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (n === 0 || bounds[n - 1] !== Infinity) return NaN;
  forcedMonotonic = ensureMonotonic(counts, n);
  if (n < 2) return NaN;
  const observations = counts[n - 1]!;
  if (observations === 0 || observations !== observations) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < n - 1 && !(counts[b]! >= rank)) b++;
  if (b === n - 1) return bounds[n - 2]!;
  if (b === 0 && bounds[0]! <= 0) return bounds[0]!;
  let start = 0;
  const end = bounds[b]!;
  let count = counts[b]!;
  if (b > 0) {
    start = bounds[b - 1]!;
    count -= counts[b - 1]!;
    rank -= counts[b - 1]!;
  }
  return start + (end - start) * (rank / count);
}

function bucketFraction(lower: number, upper: number, bounds: Float64Array, counts: Float64Array, n: number): number {
  if (n === 0 || bounds[n - 1] !== Infinity) return NaN;
  const count = counts[n - 1]!;
  if (count === 0 || lower !== lower || upper !== upper) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  for (let i = 0; i < n; i++) {
    const upperBound = bounds[i]!;
    // The first bucket starts at 0 when its bound is positive; an infinitely wide bucket is not interpolated.
    const lowerBound = i > 0 ? bounds[i - 1]! : upperBound > 0 ? 0 : -Infinity;
    const c = counts[i]!;
    const interpolate = (v: number): number =>
      lowerBound === -Infinity ? c : rank + ((c - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = c;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

/** Quantiles of every bucket group at each step; warns about quantiles outside [0, 1]. */
function quantileSeries(ev: Evaluator, call: Call, groups: BucketGroup[], q: Float64Array, qPos: Call['pos'], g: Grid, extra: Label | null): StepSeries[] {
  for (let i = 0; i < g.n; i++) {
    const v = q[i]!;
    if (v !== v || v < 0 || v > 1) ev.annotations.warn(`quantile value should be between 0 and 1, got ${String(v)}`, qPos);
  }
  const out: StepSeries[] = [];
  for (const grp of groups) {
    const bounds = new Float64Array(grp.members.length);
    const counts = new Float64Array(grp.members.length);
    const res = newStepSeries(extra ? setLabel(grp.labels, extra.name, extra.value) : grp.labels, g.n, false);
    let any = false;
    for (let i = 0; i < g.n; i++) {
      const n = bucketsAt(grp, i, bounds, counts);
      if (n === 0) continue;
      res.values[i] = bucketQuantile(q[i]!, bounds, counts, n);
      res.present[i] = 1;
      any = true;
      if (forcedMonotonic) {
        ev.annotations.info(
          `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(grp.name)}`,
          call.args[call.func === 'histogram_quantile' ? 1 : 0]!.pos,
        );
      }
    }
    if (any) out.push(res);
  }
  return out;
}

/** histogram_quantile(q, buckets). */
export function histogramQuantile(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const q = ev.scalar(call.args[0]!, g);
  const input = ev.vector(call.args[1]!, g);
  return mergeSameLabels(quantileSeries(ev, call, bucketGroups(ev, input, call), q, call.args[0]!.pos, g, null), g.n);
}

/** Label value of a quantile in histogram_quantiles: Go's shortest form, with ".0" on whole numbers. */
function quantileLabel(q: number): string {
  const text = formatFloat(q);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** histogram_quantiles(buckets, label, q…): one output series per quantile, told apart by `label`. */
export function histogramQuantiles(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const input = ev.vector(call.args[0]!, g);
  const labelValue = ev.eval(call.args[1]!, g);
  const label = labelValue.kind === 'string' ? labelValue.value : '';
  const groups = bucketGroups(ev, input, call);
  const out: StepSeries[] = [];
  for (const qExpr of call.args.slice(2)) {
    const q = ev.scalar(qExpr, g);
    out.push(...quantileSeries(ev, call, groups, q, qExpr.pos, g, { name: label, value: quantileLabel(q[0]!) }));
  }
  return mergeSameLabels(out, g.n);
}

/** histogram_fraction(lower, upper, buckets). */
export function histogramFraction(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const lower = ev.scalar(call.args[0]!, g);
  const upper = ev.scalar(call.args[1]!, g);
  const input = ev.vector(call.args[2]!, g);
  const out: StepSeries[] = [];
  for (const grp of bucketGroups(ev, input, call)) {
    const bounds = new Float64Array(grp.members.length);
    const counts = new Float64Array(grp.members.length);
    const res = newStepSeries(grp.labels, g.n, false);
    let any = false;
    for (let i = 0; i < g.n; i++) {
      const n = bucketsAt(grp, i, bounds, counts);
      if (n === 0) continue;
      res.values[i] = bucketFraction(lower[i]!, upper[i]!, bounds, counts, n);
      res.present[i] = 1;
      any = true;
    }
    if (any) out.push(res);
  }
  return mergeSameLabels(out, g.n);
}
