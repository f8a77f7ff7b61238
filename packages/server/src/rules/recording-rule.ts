/**
 * A recording rule: evaluates its expression and renames the result to the rule's metric name with
 * the rule's labels, as Prometheus's RecordingRule.Eval.
 */
import { labelsKey, METRIC_NAME, setLabel, type Labels } from '../model/labels.js';
import type { RuleSpec } from './rule-file.js';
import type { RuleQuery, RuleSample } from './rule-query.js';
import { RuleStatus } from './rule-status.js';

export class RecordingRule {
  readonly kind = 'recording' as const;
  readonly status = new RuleStatus();

  constructor(readonly spec: RuleSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** Evaluates at `queryTs`; throws when the result is invalid or exceeds `limit` (0: none). */
  async eval(queryTs: number, query: RuleQuery, limit: number): Promise<RuleSample[]> {
    const vector = await query(this.spec.expr, queryTs);
    const seen = new Set<string>();
    const out: RuleSample[] = [];
    for (const s of vector) {
      let labels: Labels = setLabel(s.labels, METRIC_NAME, this.spec.name);
      for (const [name, value] of Object.entries(this.spec.labels)) labels = setLabel(labels, name, value);
      const key = labelsKey(labels);
      if (seen.has(key)) throw new Error('vector contains metrics with the same labelset after applying rule labels');
      seen.add(key);
      out.push({ labels, t: queryTs, v: s.v });
    }
    if (limit > 0 && out.length > limit) throw new Error(`exceeded limit of ${limit} with ${out.length} series`);
    return out;
  }
}
