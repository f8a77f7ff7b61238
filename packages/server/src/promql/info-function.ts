/**
 * info(v, selector): adds the data labels of info metrics (target_info by default) that share
 * v's identifying labels (instance, job), as Prometheus's experimental info() function does.
 */
import { METRIC_NAME, getLabel, labelsKey, setLabel, type Labels } from '../model/labels.js';
import { compileMatcher, matchesAll } from '../model/matchers.js';
import type { Call } from './ast.js';
import { executionError } from './errors.js';
import type { Evaluator } from './evaluator.js';
import { newStepSeries, type Grid, type StepSeries } from './value.js';

const IDENTIFYING_LABELS = ['instance', 'job'];

interface InfoGroup {
  /** Candidates of one info metric for one identity; the newest sample wins at each step. */
  readonly members: StepSeries[];
}

export function evalInfo(ev: Evaluator, call: Call, g: Grid): StepSeries[] {
  const base = ev.vector(call.args[0]!, g);
  const sel = call.args[1];
  if (!sel || sel.type !== 'vector') return base;
  const nameMatchers = sel.matchers.filter((m) => m.name === METRIC_NAME);
  const positive = nameMatchers.filter((m) => m.type === '=' || m.type === '=~').map(compileMatcher);
  const dataMatchers = sel.matchers.filter((m) => m.name !== METRIC_NAME);
  const dataNames = new Set(dataMatchers.map((m) => m.name));
  const requiresData = dataMatchers.some((m) => !compileMatcher(m).matches(''));
  // Sample timestamps of each candidate at each step tell which one is newest.
  const candidates = ev.selectorTimestamps(sel, g);
  const groups = new Map<string, InfoGroup>();
  for (const c of candidates) {
    const key = labelsKey(c.labels.filter((l) => l.name === METRIC_NAME || IDENTIFYING_LABELS.includes(l.name)));
    const grp = groups.get(key);
    if (grp) grp.members.push(c);
    else groups.set(key, { members: [c] });
  }
  const byIdentity = new Map<string, InfoGroup[]>();
  for (const grp of groups.values()) {
    const id = IDENTIFYING_LABELS.map((n) => getLabel(grp.members[0]!.labels, n) ?? '').join('\xff');
    byIdentity.set(id, [...(byIdentity.get(id) ?? []), grp]);
  }
  const outs = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  for (const b of base) {
    // Info metrics named by the selector are passed through, not enriched with themselves.
    if (positive.length > 0 && matchesAll(positive, b.labels)) {
      order.push(b);
      continue;
    }
    const infos = byIdentity.get(IDENTIFYING_LABELS.map((n) => getLabel(b.labels, n) ?? '').join('\xff')) ?? [];
    for (let i = 0; i < g.n; i++) {
      if (!b.present[i]) continue;
      let labels = b.labels;
      const added = new Map<string, string>();
      let matched = false;
      for (const grp of infos) {
        let newest: StepSeries | null = null;
        for (const m of grp.members) if (m.present[i] && (!newest || m.values[i]! > newest.values[i]!)) newest = m;
        if (!newest) continue;
        matched = true;
        for (const l of newest.labels) {
          if (l.name === METRIC_NAME || IDENTIFYING_LABELS.includes(l.name) || getLabel(b.labels, l.name) !== undefined) continue;
          if (dataNames.size > 0 && !dataNames.has(l.name)) continue;
          const prev = added.get(l.name);
          if (prev !== undefined && prev !== l.value) {
            throw executionError(`conflicting label: ${JSON.stringify(l.name)} has values ${JSON.stringify(prev)} and ${JSON.stringify(l.value)} in different info metrics`);
          }
          added.set(l.name, l.value);
          labels = setLabel(labels, l.name, l.value);
        }
      }
      if (!matched && requiresData) continue;
      const key = labelsKey(labels);
      let out = outs.get(key);
      if (!out) {
        out = newStepSeries(labels as Labels, g.n, b.dropName);
        outs.set(key, out);
        order.push(out);
      }
      out.present[i] = 1;
      out.values[i] = b.values[i]!;
    }
  }
  return order;
}
