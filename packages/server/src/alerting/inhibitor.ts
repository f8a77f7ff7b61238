/**
 * Inhibition with Alertmanager's semantics: a target alert is muted while a firing source alert
 * exists whose `equal` labels have the same values (absent equals absent). An alert matching both
 * sides is not inhibited by other alerts that also match both sides.
 */
import { getLabel, type Labels } from '../model/labels.js';
import { matchesAll } from '../model/matchers.js';
import { isResolvedAt, type Alert } from './alert.js';
import type { InhibitRuleConfig } from './config/am-config.js';

/** Answers the fingerprint of the alert inhibiting `labels`, or null. */
export type InhibitionCheck = (labels: Labels) => string | null;

export class Inhibitor {
  constructor(private readonly rules: readonly InhibitRuleConfig[]) {}

  /**
   * Prepares checks against a set of alerts at `now`: each rule's firing source alerts are found once,
   * so checking many alerts costs one pass over the sources per alert, not over every alert.
   */
  checker(alerts: Iterable<Alert>, now: number): InhibitionCheck {
    const all = [...alerts];
    const sources = this.rules.map((rule) => all.filter((a) => !isResolvedAt(a, now) && matchesAll(rule.sourceMatchers, a.labels)));
    return (labels) => {
      for (let i = 0; i < this.rules.length; i++) {
        const rule = this.rules[i]!;
        if (!matchesAll(rule.targetMatchers, labels)) continue;
        const excludeTwoSided = matchesAll(rule.sourceMatchers, labels);
        for (const a of sources[i]!) {
          if (!rule.equal.every((n) => (getLabel(a.labels, n) ?? '') === (getLabel(labels, n) ?? ''))) continue;
          if (excludeTwoSided && matchesAll(rule.targetMatchers, a.labels)) continue;
          return a.fingerprint;
        }
      }
      return null;
    };
  }
}
