/**
 * Rule evaluation metrics, named as Prometheus's (rules/manager.go, notifier/) with the watchkeeper_
 * prefix instead of prometheus_. The rule_group label is `<file>;<group name>` as in Prometheus.
 */
import { Counter, Gauge, Summary, type Registry } from 'prom-client';

export interface RuleMetrics {
  readonly evalDuration: Summary;
  readonly groupDuration: Summary;
  readonly evalTotal: Counter<'rule_group'>;
  readonly evalFailures: Counter<'rule_group'>;
  readonly iterationsMissed: Counter<'rule_group'>;
  readonly iterationsScheduled: Counter<'rule_group'>;
  readonly groupInterval: Gauge<'rule_group'>;
  readonly groupLastEvalTime: Gauge<'rule_group'>;
  readonly groupLastDuration: Gauge<'rule_group'>;
  readonly groupRules: Gauge<'rule_group'>;
  readonly groupSamples: Gauge<'rule_group'>;
  readonly notificationsSent: Counter;
  readonly notificationsDropped: Counter;
}

/** Quantiles and window of Prometheus's rule summaries. */
const SUMMARY = { percentiles: [0.5, 0.9, 0.99], maxAgeSeconds: 600, ageBuckets: 5 };

export function createRuleMetrics(registry: Registry): RuleMetrics {
  const registers = [registry];
  const perGroup = (name: string, help: string) => ({ name, help, labelNames: ['rule_group'] as const, registers });
  return {
    evalDuration: new Summary({ name: 'watchkeeper_rule_evaluation_duration_seconds', help: 'The duration for a rule to execute.', ...SUMMARY, registers }),
    groupDuration: new Summary({ name: 'watchkeeper_rule_group_duration_seconds', help: 'The duration of rule group evaluations.', ...SUMMARY, registers }),
    evalTotal: new Counter(perGroup('watchkeeper_rule_evaluations_total', 'The total number of rule evaluations.')),
    evalFailures: new Counter(perGroup('watchkeeper_rule_evaluation_failures_total', 'The total number of rule evaluation failures.')),
    iterationsMissed: new Counter(perGroup('watchkeeper_rule_group_iterations_missed_total', 'The total number of rule group evaluations missed due to slow rule group evaluation.')),
    iterationsScheduled: new Counter(perGroup('watchkeeper_rule_group_iterations_total', 'The total number of scheduled rule group evaluations, whether executed or missed.')),
    groupInterval: new Gauge(perGroup('watchkeeper_rule_group_interval_seconds', 'The interval of a rule group.')),
    groupLastEvalTime: new Gauge(perGroup('watchkeeper_rule_group_last_evaluation_timestamp_seconds', 'The timestamp of the last rule group evaluation in seconds.')),
    groupLastDuration: new Gauge(perGroup('watchkeeper_rule_group_last_duration_seconds', 'The duration of the last rule group evaluation.')),
    groupRules: new Gauge(perGroup('watchkeeper_rule_group_rules', 'The number of rules.')),
    groupSamples: new Gauge(perGroup('watchkeeper_rule_group_last_evaluation_samples', 'The number of samples returned during the last rule group evaluation.')),
    notificationsSent: new Counter({ name: 'watchkeeper_notifications_sent_total', help: 'Total number of alerts handed to the in-process Alertmanager.', registers }),
    notificationsDropped: new Counter({ name: 'watchkeeper_notifications_dropped_total', help: 'Total number of alerts the in-process Alertmanager rejected.', registers }),
  };
}

/** Removes a group's labelled series when the group goes away. */
export function forgetGroupMetrics(m: RuleMetrics, group: string): void {
  for (const metric of [m.evalTotal, m.evalFailures, m.iterationsMissed, m.iterationsScheduled]) metric.remove(group);
  for (const metric of [m.groupInterval, m.groupLastEvalTime, m.groupLastDuration, m.groupRules, m.groupSamples]) metric.remove(group);
}
