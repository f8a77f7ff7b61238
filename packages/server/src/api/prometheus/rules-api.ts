/**
 * Prometheus's rule APIs: GET /api/v1/rules (groups with their rules, health and alerts; filters
 * `type`, `rule_name[]`, `rule_group[]`, `file[]`) and GET /api/v1/alerts (every pending and firing
 * alert), in Prometheus 2.42's JSON.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { labelsToRecord } from '../../model/labels.js';
import { AlertingRule, type RuleAlert, type RuleGroup, type RuleManager } from '../../rules/index.js';
import { badData } from '../errors.js';
import { requestParams } from './params.js';

export interface RulesApiDeps {
  readonly ruleManager: Pick<RuleManager, 'groups'>;
}

/** Go's zero time, which Prometheus prints for a rule never evaluated. */
const NEVER = '0001-01-01T00:00:00Z';

/** Go's RFC 3339 with trailing zeros of the fraction dropped (time.RFC3339Nano). */
function goTime(ms: number): string {
  if (ms === 0) return NEVER;
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** strconv.FormatFloat(v, 'e', -1, 64), as Prometheus prints an alert's value. */
export function formatAlertValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

function alertJson(a: RuleAlert) {
  return {
    labels: labelsToRecord(a.labels),
    annotations: a.annotations,
    state: a.state,
    activeAt: goTime(a.activeAt),
    ...(a.keepFiringSince !== 0 ? { keepFiringSince: goTime(a.keepFiringSince) } : {}),
    value: formatAlertValue(a.value),
  };
}

function activeAlerts(rule: AlertingRule): RuleAlert[] {
  return [...rule.active.values()].filter((a) => a.state !== 'inactive');
}

function ruleJson(rule: RuleGroup['rules'][number]) {
  const status = {
    health: rule.status.health,
    ...(rule.status.lastError !== '' ? { lastError: rule.status.lastError } : {}),
    evaluationTime: rule.status.evaluationSeconds,
    lastEvaluation: goTime(rule.status.lastEvaluationMs),
  };
  if (rule instanceof AlertingRule) {
    return {
      state: rule.state(),
      name: rule.name,
      query: rule.spec.expr,
      duration: rule.spec.forMs / 1000,
      keepFiringFor: rule.spec.keepFiringForMs / 1000,
      labels: rule.spec.labels,
      annotations: rule.spec.annotations,
      alerts: activeAlerts(rule).map(alertJson),
      ...status,
      type: 'alerting',
    };
  }
  return {
    name: rule.name,
    query: rule.spec.expr,
    ...(Object.keys(rule.spec.labels).length > 0 ? { labels: rule.spec.labels } : {}),
    ...status,
    type: 'recording',
  };
}

function selection(params: URLSearchParams, name: string): Set<string> | null {
  const values = params.getAll(name);
  return values.length === 0 ? null : new Set(values);
}

/** Registers GET /api/v1/rules and GET /api/v1/alerts (scope 'read'). */
export function registerRulesApi(app: FastifyInstance, deps: RulesApiDeps): void {
  const read = { config: { scope: 'read' as const } };

  app.get('/api/v1/rules', read, async (req: FastifyRequest) => {
    const params = requestParams(req);
    const type = (params.get('type') ?? '').toLowerCase();
    if (type !== '' && type !== 'alert' && type !== 'record') throw badData(`invalid parameter "type": not supported value ${JSON.stringify(type)}`);
    const names = selection(params, 'rule_name[]');
    const groupNames = selection(params, 'rule_group[]');
    const files = selection(params, 'file[]');
    const filtered = names !== null || groupNames !== null || files !== null;
    const groups = [];
    for (const group of deps.ruleManager.groups()) {
      if (groupNames !== null && !groupNames.has(group.spec.name)) continue;
      if (files !== null && !files.has(group.spec.file)) continue;
      const rules = group.rules
        .filter((r) => (r instanceof AlertingRule ? type !== 'record' : type !== 'alert'))
        .filter((r) => names === null || names.has(r.name))
        .map(ruleJson);
      if (filtered && rules.length === 0) continue;
      groups.push({
        name: group.spec.name,
        file: group.spec.file,
        rules,
        interval: group.spec.intervalMs / 1000,
        limit: group.spec.limit,
        evaluationTime: group.evaluationSeconds,
        lastEvaluation: goTime(group.lastEvaluationMs),
      });
    }
    return { status: 'success', data: { groups } };
  });

  app.get('/api/v1/alerts', read, async () => {
    const alerts = [];
    for (const group of deps.ruleManager.groups()) for (const rule of group.rules) if (rule instanceof AlertingRule) alerts.push(...activeAlerts(rule).map(alertJson));
    return { status: 'success', data: { alerts } };
  });
}
