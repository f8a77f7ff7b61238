/** Binary operators: scalar/vector arithmetic and comparisons, vector matching, set operators. */
import { labelsKey, setLabel, type Labels } from '../model/labels.js';
import { COMPARISON_OPS, type BinaryExpr, type BinaryOp, type VectorMatching } from './ast.js';
import { executionError } from './errors.js';
import type { Evaluator } from './evaluator.js';
import { goPow } from './float-math.js';
import { METRIC_IDENTITY_LABELS, newStepSeries, withoutMetricIdentity, type EvalValue, type Grid, type StepSeries } from './value.js';

/** Result slot of elemOp: whether a comparison kept the sample. */
let kept = true;

/** Applies op to two floats; comparisons set `kept` and return the left value. */
function elemOp(op: BinaryOp, l: number, r: number): number {
  kept = true;
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r;
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    case '==':
      kept = l === r;
      return l;
    case '!=':
      kept = l !== r;
      return l;
    case '>':
      kept = l > r;
      return l;
    case '<':
      kept = l < r;
      return l;
    case '>=':
      kept = l >= r;
      return l;
    case '<=':
      kept = l <= r;
      return l;
    default:
      throw executionError(`operator ${JSON.stringify(op)} not allowed here`);
  }
}

/** Prometheus's labels.String(): every label quoted, braces. */
function labelsString(labels: Labels): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
}

export function evalBinary(ev: Evaluator, e: BinaryExpr, g: Grid): EvalValue {
  const lv = ev.eval(e.lhs, g);
  const rv = ev.eval(e.rhs, g);
  const comparison = COMPARISON_OPS.has(e.op);
  if (lv.kind === 'scalar' && rv.kind === 'scalar') {
    const out = new Float64Array(g.n);
    for (let i = 0; i < g.n; i++) {
      const v = elemOp(e.op, lv.values[i]!, rv.values[i]!);
      out[i] = comparison ? (kept ? 1 : 0) : v;
    }
    return { kind: 'scalar', values: out };
  }
  if (lv.kind === 'vector' && rv.kind === 'scalar') return { kind: 'vector', series: vectorScalar(e, lv.series, rv.values, false, g) };
  if (lv.kind === 'scalar' && rv.kind === 'vector') return { kind: 'vector', series: vectorScalar(e, rv.series, lv.values, true, g) };
  if (lv.kind !== 'vector' || rv.kind !== 'vector') throw executionError('binary expression must contain only scalar and instant vector types');
  const matching = e.matching!;
  switch (e.op) {
    case 'and':
      return { kind: 'vector', series: andUnless(lv.series, rv.series, matching, g, true) };
    case 'unless':
      return { kind: 'vector', series: andUnless(lv.series, rv.series, matching, g, false) };
    case 'or':
      return { kind: 'vector', series: or(lv.series, rv.series, matching, g) };
    default:
      return { kind: 'vector', series: vectorVector(ev, e, lv.series, rv.series, matching, g) };
  }
}

function vectorScalar(e: BinaryExpr, vec: StepSeries[], scalar: Float64Array, scalarLeft: boolean, g: Grid): StepSeries[] {
  const comparison = COMPARISON_OPS.has(e.op);
  const out: StepSeries[] = [];
  for (const s of vec) {
    const vals = s.values;
    const pres = s.present;
    let any = false;
    for (let i = 0; i < g.n; i++) {
      if (!pres[i]) continue;
      const x = vals[i]!;
      const v = scalarLeft ? elemOp(e.op, scalar[i]!, x) : elemOp(e.op, x, scalar[i]!);
      if (comparison) {
        if (e.returnBool) vals[i] = kept ? 1 : 0;
        else if (!kept) pres[i] = 0;
        else vals[i] = x;
      } else {
        vals[i] = v;
      }
      if (pres[i]) any = true;
    }
    if (!comparison || e.returnBool) s.dropName = true;
    if (any) out.push(s);
  }
  return out;
}

/** Signature of a series for matching: on() labels, or all but ignoring() labels and the name. */
function signature(labels: Labels, m: VectorMatching): string {
  if (m.on) return labelsKey(labels.filter((l) => m.labels.includes(l.name)));
  return labelsKey(labels.filter((l) => !METRIC_IDENTITY_LABELS.has(l.name) && !m.labels.includes(l.name)));
}

function matchedLabels(labels: Labels, m: VectorMatching): Labels {
  if (m.on) return labels.filter((l) => m.labels.includes(l.name));
  return labels.filter((l) => !METRIC_IDENTITY_LABELS.has(l.name) && !m.labels.includes(l.name));
}

/** Per signature, whether any series with it has a sample at each step. */
function presenceBySignature(series: StepSeries[], m: VectorMatching, n: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const s of series) {
    const sig = signature(s.labels, m);
    let p = out.get(sig);
    if (!p) {
      p = new Uint8Array(n);
      out.set(sig, p);
    }
    for (let i = 0; i < n; i++) p[i]! |= s.present[i]!;
  }
  return out;
}

function andUnless(lhs: StepSeries[], rhs: StepSeries[], m: VectorMatching, g: Grid, isAnd: boolean): StepSeries[] {
  const rp = presenceBySignature(rhs, m, g.n);
  const out: StepSeries[] = [];
  for (const s of lhs) {
    const p = rp.get(signature(s.labels, m));
    let any = false;
    for (let i = 0; i < g.n; i++) {
      const has = p ? p[i]! : 0;
      if (isAnd ? !has : has) s.present[i] = 0;
      if (s.present[i]) any = true;
    }
    if (any) out.push(s);
  }
  return out;
}

function or(lhs: StepSeries[], rhs: StepSeries[], m: VectorMatching, g: Grid): StepSeries[] {
  const lp = presenceBySignature(lhs, m, g.n);
  const out: StepSeries[] = [...lhs];
  for (const s of rhs) {
    const p = lp.get(signature(s.labels, m));
    let any = false;
    for (let i = 0; i < g.n; i++) {
      if (p && p[i]) s.present[i] = 0;
      if (s.present[i]) any = true;
    }
    if (any) out.push(s);
  }
  return out;
}

/** Output labels of a matched pair, from the "many" side, as Prometheus's resultMetric. */
function resultLabels(many: Labels, one: Labels, e: BinaryExpr, m: VectorMatching): Labels {
  let labels: Labels = many;
  if (!COMPARISON_OPS.has(e.op)) labels = withoutMetricIdentity(labels);
  if (m.card === 'one-to-one') {
    labels = m.on ? labels.filter((l) => m.labels.includes(l.name)) : labels.filter((l) => !m.labels.includes(l.name));
  }
  for (const name of m.include) {
    const v = one.find((l) => l.name === name)?.value ?? '';
    labels = setLabel(labels, name, v);
  }
  return labels;
}

function vectorVector(ev: Evaluator, e: BinaryExpr, lhs: StepSeries[], rhs: StepSeries[], m: VectorMatching, g: Grid): StepSeries[] {
  const n = g.n;
  const swapped = m.card === 'one-to-many';
  const manySide = swapped ? rhs : lhs;
  const oneSide = swapped ? lhs : rhs;
  const comparison = COMPARISON_OPS.has(e.op);
  // Prometheus skips a step when either side is empty, so duplicates there are not errors.
  const manyAny = new Uint8Array(n);
  for (const s of manySide) for (let i = 0; i < n; i++) manyAny[i]! |= s.present[i]!;
  const oneAny = new Uint8Array(n);
  for (const s of oneSide) for (let i = 0; i < n; i++) oneAny[i]! |= s.present[i]!;

  const oneBySig = new Map<string, StepSeries[]>();
  for (const s of oneSide) {
    const sig = signature(s.labels, m);
    const list = oneBySig.get(sig);
    if (list) list.push(s);
    else oneBySig.set(sig, [s]);
  }
  for (const list of oneBySig.values()) {
    if (list.length < 2) continue;
    for (let i = 0; i < n; i++) {
      if (!manyAny[i]) continue;
      const here = list.filter((s) => s.present[i]);
      if (here.length < 2) continue;
      const [a, b] = here.map((s) => labelsString(s.labels)).sort();
      throw executionError(
        `found duplicate series for the match group ${labelsString(matchedLabels(here[0]!.labels, m))} on the ${swapped ? 'left' : 'right'} hand-side of the operation: [${a}, ${b}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
  }

  const outs = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  const output = (labels: Labels, dropName: boolean): StepSeries => {
    const key = labelsKey(labels);
    let out = outs.get(key);
    if (!out) {
      out = newStepSeries(labels, n, dropName);
      outs.set(key, out);
      order.push(out);
    }
    return out;
  };
  // fill_left/fill_right stand in for a missing sample of the "one" or the "many" side.
  const fillOne = e.fill ? (swapped ? e.fill.left : e.fill.right) : null;
  const fillMany = e.fill ? (swapped ? e.fill.right : e.fill.left) : null;
  const usedBySig = new Map<string, Uint8Array>();
  for (const ms of manySide) {
    ev.checkDeadline();
    const sig = signature(ms.labels, m);
    const candidates = oneBySig.get(sig) ?? [];
    if (candidates.length === 0 && fillOne === null) continue;
    let used = usedBySig.get(sig);
    if (!used) {
      used = new Uint8Array(n);
      usedBySig.set(sig, used);
    }
    const pairOut = new Map<StepSeries | null, StepSeries>();
    for (let i = 0; i < n; i++) {
      if (!ms.present[i] || (!oneAny[i] && fillOne === null)) continue;
      let os: StepSeries | null = null;
      for (const c of candidates) {
        if (c.present[i]) {
          os = c;
          break;
        }
      }
      if (!os && fillOne === null) continue;
      const oneValue = os ? os.values[i]! : fillOne!;
      const l = swapped ? oneValue : ms.values[i]!;
      const r = swapped ? ms.values[i]! : oneValue;
      let v = elemOp(e.op, l, r);
      if (e.returnBool) v = kept ? 1 : 0;
      else if (!kept) continue;
      let out = pairOut.get(os);
      if (!out) {
        out = output(resultLabels(ms.labels, os ? os.labels : [], e, m), comparison && (e.returnBool || ms.dropName));
        pairOut.set(os, out);
      }
      if (m.card === 'one-to-one') {
        if (used[i]) throw executionError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        used[i] = 1;
      } else if (out.present[i]) {
        throw executionError('multiple matches for labels: grouping labels must ensure unique matches');
      }
      out.present[i] = 1;
      out.values[i] = v;
    }
  }
  if (fillMany !== null) fillMissingMany(e, m, manySide, oneSide, fillMany, swapped, output, n);
  return order;
}

/** Outputs for "one"-side samples without a "many"-side partner, the many side filled in. */
function fillMissingMany(
  e: BinaryExpr,
  m: VectorMatching,
  manySide: StepSeries[],
  oneSide: StepSeries[],
  fill: number,
  swapped: boolean,
  output: (labels: Labels, dropName: boolean) => StepSeries,
  n: number,
): void {
  const manyPresence = presenceBySignature(manySide, m, n);
  for (const os of oneSide) {
    const p = manyPresence.get(signature(os.labels, m));
    let out: StepSeries | null = null;
    for (let i = 0; i < n; i++) {
      if (!os.present[i] || (p && p[i])) continue;
      const l = swapped ? os.values[i]! : fill;
      const r = swapped ? fill : os.values[i]!;
      let v = elemOp(e.op, l, r);
      if (e.returnBool) v = kept ? 1 : 0;
      else if (!kept) continue;
      // Without a sample of its own the filled side has no name to keep.
      out ??= output(resultLabels(withoutMetricIdentity(os.labels), os.labels, e, m), false);
      out.present[i] = 1;
      out.values[i] = v;
    }
  }
}
