/** Rules: Prometheus rule files, recording and alerting rule evaluation, alert state. */
export { AlertingRule, RESOLVED_RETENTION_MS, type AlertState, type OutgoingAlert, type RuleAlert } from './alerting-rule.js';
export { RecordingRule } from './recording-rule.js';
export { parseRuleFile, type RuleGroupSpec, type RuleLoadResult, type RuleSpec } from './rule-file.js';
export { globRuleFiles, loadRuleFiles } from './rule-files.js';
export { alignedEvalTime, RuleGroup, type AlertSink, type Rule, type RuleClock } from './rule-group.js';
export { RuleManager, type ExternalAlert, type RuleManagerOptions } from './rule-manager.js';
export type { RuleHealth } from './rule-status.js';
