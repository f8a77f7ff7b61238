/**
 * Inhibition with Alertmanager's semantics: a target alert is muted while a firing source alert
 * exists whose `equal` labels have the same values (absent equals absent). An alert matching both
 * sides is not inhibited by other alerts that also match both sides.
 */
import type { Labels } from '../model/labels.js';
import { getLabel } from '../model/labels.js';
import { matchesLabels } from './am-matchers.js';
import { isResolvedAt, type Alert } from './alert.js';
import type { InhibitRuleConfig } from './config/am-config.js';

export class Inhibitor {
  constructor(private readonly rules: readonly InhibitRuleConfig[]) {}

  /** The fingerprint of the alert inhibiting `labels`, or null. `alerts` are all known alerts. */
  inhibitedBy(labels: Labels, alerts: Iterable<Alert>, now: number): string | null {
    for (const rule of this.rules) {
      if (!matchesLabels(rule.targetMatchers, labels)) continue;
      const excludeTwoSided = matchesLabels(rule.sourceMatchers, labels);
      for (const a of alerts) {
        if (isResolvedAt(a, now) || !matchesLabels(rule.sourceMatchers, a.labels)) continue;
        if (!rule.equal.every((n) => (getLabel(a.labels, n) ?? '') === (getLabel(labels, n) ?? ''))) continue;
        if (excludeTwoSided && matchesLabels(rule.targetMatchers, a.labels)) continue;
        return a.fingerprint;
      }
    }
    return null;
  }
}
