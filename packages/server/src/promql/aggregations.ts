/** Aggregation operators (`sum by (…) (…)` etc.), evaluated per group and step over columns. */
import { METRIC_NAME, labelsKey, setLabel, type Label, type Labels } from '../model/labels.js';
import type { AggregateExpr } from './ast.js';
import { executionError } from './errors.js';
import type { Evaluator } from './evaluator.js';
import { formatFloat, kahanInc, kahanOut, quantileOf } from './float-math.js';
import { METRIC_IDENTITY_LABELS, newStepSeries, type EvalValue, type Grid, type StepSeries } from './value.js';

interface Group {
  readonly labels: Labels;
  readonly members: StepSeries[];
  dropName: boolean;
}

/** Labels of the group a series falls into. */
function groupLabels(labels: Labels, e: AggregateExpr): Labels {
  if (e.without) {
    const drop = new Set([...e.grouping, ...METRIC_IDENTITY_LABELS]);
    return labels.filter((l) => !drop.has(l.name));
  }
  const keep = new Set(e.grouping);
  return labels.filter((l) => keep.has(l.name));
}

function groupSeries(series: StepSeries[], e: AggregateExpr): Group[] {
  const groups = new Map<string, Group>();
  for (const s of series) {
    const labels = groupLabels(s.labels, e);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) {
      g = { labels, members: [], dropName: false };
      groups.set(key, g);
    }
    g.members.push(s);
    if (s.dropName) g.dropName = true;
  }
  return [...groups.values()];
}

export function evalAggregate(ev: Evaluator, e: AggregateExpr, g: Grid): EvalValue {
  const input = ev.vector(e.expr, g);
  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
      return { kind: 'vector', series: selectK(ev, e, g, input) };
    case 'count_values':
      return { kind: 'vector', series: countValues(ev, e, g, input) };
    default:
      return { kind: 'vector', series: reduce(ev, e, g, input) };
  }
}

interface AggState {
  readonly value: Float64Array;
  readonly comp: Float64Array;
  readonly mean: Float64Array;
  readonly count: Float64Array;
  readonly incremental: Uint8Array;
}

/** Adds one series' samples to the per-step state; the common ops get loops of their own. */
function accumulate(op: AggregateExpr['op'], vals: Float64Array, pres: Uint8Array, n: number, st: AggState): void {
  const { value, comp, count } = st;
  if (op === 'sum') {
    for (let i = 0; i < n; i++) {
      if (!pres[i]) continue;
      const f = vals[i]!;
      if (count[i]!++ === 0) {
        value[i] = f;
        continue;
      }
      // Neumaier-compensated summation, as kahanInc, inlined for this hot loop.
      const sum = value[i]!;
      const t = sum + f;
      let c = comp[i]!;
      if (t === Infinity || t === -Infinity) c = 0;
      else if (Math.abs(sum) >= Math.abs(f)) c += sum - t + f;
      else c += f - t + sum;
      value[i] = t;
      comp[i] = c;
    }
    return;
  }
  if (op === 'count' || op === 'group') {
    for (let i = 0; i < n; i++) if (pres[i]) count[i]!++;
    return;
  }
  const { mean, incremental } = st;
  for (let i = 0; i < n; i++) {
    if (!pres[i]) continue;
    const f = vals[i]!;
    const c = ++count[i]!;
    if (c === 1) {
      value[i] = op === 'stddev' || op === 'stdvar' ? 0 : f;
      mean[i] = f;
      continue;
    }
    switch (op) {
      case 'avg':
        if (!incremental[i]) {
          kahanInc(f, value[i]!, comp[i]!);
          if (kahanOut[0] !== Infinity && kahanOut[0] !== -Infinity) {
            value[i] = kahanOut[0]!;
            comp[i] = kahanOut[1]!;
            break;
          }
          // The running sum would overflow: continue with an incremental mean.
          incremental[i] = 1;
          mean[i] = value[i]! / (c - 1);
          comp[i] = comp[i]! / (c - 1);
        }
        {
          const k = (c - 1) / c;
          kahanInc(f / c, k * mean[i]!, k * comp[i]!);
          mean[i] = kahanOut[0]!;
          comp[i] = kahanOut[1]!;
        }
        break;
      case 'max':
        if (value[i]! < f || value[i] !== value[i]) value[i] = f;
        break;
      case 'min':
        if (value[i]! > f || value[i] !== value[i]) value[i] = f;
        break;
      case 'stddev':
      case 'stdvar': {
        const delta = f - mean[i]!;
        mean[i] = mean[i]! + delta / c;
        value[i] = value[i]! + delta * (f - mean[i]!);
        break;
      }
      default:
        break;
    }
  }
}

function reduce(ev: Evaluator, e: AggregateExpr, g: Grid, input: StepSeries[]): StepSeries[] {
  const n = g.n;
  const q = e.op === 'quantile' && e.param ? ev.scalar(e.param, g) : null;
  if (q && e.param) {
    for (let i = 0; i < n; i++) {
      const v = q[i]!;
      if (v !== v || v < 0 || v > 1) ev.annotations.warn(`quantile value should be between 0 and 1, got ${String(v)}`, e.param.pos);
    }
  }
  const out: StepSeries[] = [];
  const value = new Float64Array(n);
  const comp = new Float64Array(n);
  const mean = new Float64Array(n);
  const count = new Float64Array(n);
  const incremental = new Uint8Array(n);
  for (const group of groupSeries(input, e)) {
    ev.checkDeadline();
    const keepName = group.labels.some((l) => l.name === METRIC_NAME);
    const res = newStepSeries(group.labels, n, keepName && group.dropName);
    value.fill(0);
    comp.fill(0);
    mean.fill(0);
    count.fill(0);
    incremental.fill(0);
    if (e.op === 'quantile') {
      quantileGroup(group, q!, res, n);
      out.push(res);
      continue;
    }
    const state: AggState = { value, comp, mean, count, incremental };
    for (const s of group.members) accumulate(e.op, s.values, s.present, n, state);
    if (e.op === 'stddev' || e.op === 'stdvar') markNonFinite(group, incremental, n);
    for (let i = 0; i < n; i++) {
      const c = count[i]!;
      if (c === 0) continue;
      res.present[i] = 1;
      switch (e.op) {
        case 'sum':
          res.values[i] = value[i]! + comp[i]!;
          break;
        case 'avg':
          res.values[i] = c === 1 ? value[i]! : incremental[i] ? mean[i]! + comp[i]! : (value[i]! + comp[i]!) / c;
          break;
        case 'count':
          res.values[i] = c;
          break;
        case 'group':
          res.values[i] = 1;
          break;
        case 'stdvar':
          res.values[i] = incremental[i] ? NaN : value[i]! / c;
          break;
        case 'stddev':
          res.values[i] = incremental[i] ? NaN : Math.sqrt(value[i]! / c);
          break;
        default:
          res.values[i] = value[i]!;
      }
    }
    out.push(res);
  }
  return out;
}

/** Flags (in `flags`) the steps where a group has a NaN or infinite sample: their deviation is NaN. */
function markNonFinite(group: Group, flags: Uint8Array, n: number): void {
  for (const s of group.members) {
    for (let i = 0; i < n; i++) if (s.present[i] && !Number.isFinite(s.values[i]!)) flags[i] = 1;
  }
}

function quantileGroup(group: Group, q: Float64Array, res: StepSeries, n: number): void {
  const buf = new Float64Array(group.members.length);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (const s of group.members) if (s.present[i]) buf[k++] = s.values[i]!;
    if (k === 0) continue;
    res.present[i] = 1;
    res.values[i] = quantileOf(q[i]!, buf.subarray(0, k));
  }
}

/** Converts a k parameter as Prometheus does: truncation, NaN and values beyond int64 refused. */
function kParam(v: number): number {
  if (v !== v) throw executionError('Parameter value is NaN');
  if (!(v > -9.223372036854776e18 && v < 9.223372036854776e18)) {
    const text = v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
    throw executionError(`Scalar value ${text} overflows int64`);
  }
  return Math.trunc(v);
}

/**
 * Selects k series the way Prometheus does, with Go's container/heap over the same ordering, so
 * that ties are broken identically: the heap's root (the weakest kept sample) is replaced only by
 * a strictly better one.
 */
function heapSelect(present: StepSeries[], k: number, i: number, top: boolean): StepSeries[] {
  const h: StepSeries[] = [];
  // Less of vectorByValueHeap (topk) / vectorByReverseValueHeap (bottomk): NaN sorts first.
  const less = (a: number, b: number): boolean => {
    const x = h[a]!.values[i]!;
    const y = h[b]!.values[i]!;
    if (x !== x) return true;
    return top ? x < y : x > y;
  };
  const swap = (a: number, b: number): void => {
    const t = h[a]!;
    h[a] = h[b]!;
    h[b] = t;
  };
  const up = (j0: number): void => {
    let j = j0;
    for (;;) {
      const p = Math.trunc((j - 1) / 2);
      if (p === j || !less(j, p)) break;
      swap(p, j);
      j = p;
    }
  };
  const down = (i0: number, n: number): boolean => {
    let x = i0;
    for (;;) {
      const j1 = 2 * x + 1;
      if (j1 >= n) break;
      let j = j1;
      if (j1 + 1 < n && less(j1 + 1, j1)) j = j1 + 1;
      if (!less(j, x)) break;
      swap(x, j);
      x = j;
    }
    return x > i0;
  };
  for (const s of present) {
    const v = s.values[i]!;
    if (h.length < k) {
      h.push(s);
      up(h.length - 1);
      continue;
    }
    const root = h[0]!.values[i]!;
    const better = top ? root < v : root > v;
    if (better || (root !== root && v === v)) {
      h[0] = s;
      if (k > 1 && !down(0, h.length)) up(0);
    }
  }
  // Output order of an instant query: best first, NaN last.
  return h.sort((a, b) => {
    const x = a.values[i]!;
    const y = b.values[i]!;
    if (x !== x) return y !== y ? 0 : 1;
    if (y !== y) return -1;
    return top ? y - x : x - y;
  });
}

/** topk / bottomk / limitk: the selected input series keep their labels. */
function selectK(ev: Evaluator, e: AggregateExpr, g: Grid, input: StepSeries[]): StepSeries[] {
  const n = g.n;
  const ks = ev.scalar(e.param!, g);
  const groups = groupSeries(input, e);
  const outs = new Map<StepSeries, StepSeries>();
  const order: StepSeries[] = [];
  const top = e.op === 'topk';
  const present: StepSeries[] = [];
  for (let i = 0; i < n; i++) {
    const k = kParam(ks[i]!);
    if (k < 1) continue;
    for (const group of groups) {
      present.length = 0;
      for (const s of group.members) if (s.present[i]) present.push(s);
      const chosen = e.op === 'limitk' ? present.slice(0, k) : heapSelect(present, k, i, top);
      for (const s of chosen) {
        let o = outs.get(s);
        if (!o) {
          o = newStepSeries(s.labels, n, s.dropName);
          outs.set(s, o);
          order.push(o);
        }
        o.present[i] = 1;
        o.values[i] = s.values[i]!;
      }
    }
  }
  return order;
}

function countValues(ev: Evaluator, e: AggregateExpr, g: Grid, input: StepSeries[]): StepSeries[] {
  const n = g.n;
  const param = ev.eval(e.param!, g);
  const label = param.kind === 'string' ? param.value : '';
  if (label === '') throw executionError(`invalid label name ${JSON.stringify(label)}`);
  const outs = new Map<string, StepSeries>();
  for (const group of groupSeries(input, e)) {
    for (let i = 0; i < n; i++) {
      const counts = new Map<string, number>();
      for (const s of group.members) {
        if (!s.present[i]) continue;
        const v = formatFloat(s.values[i]!);
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      for (const [v, c] of counts) {
        const labels: Labels = setLabel(group.labels as Label[], label, v);
        const key = labelsKey(labels);
        let o = outs.get(key);
        if (!o) {
          o = newStepSeries(labels, n, false);
          outs.set(key, o);
        }
        o.present[i] = 1;
        o.values[i] = c;
      }
    }
  }
  return [...outs.values()];
}
