/**
 * Prometheus rule files: parsing and validation with the checks of Prometheus's rulefmt (and so of
 * `promtool check rules`), reporting each problem as `file:line:col: group "g", rule N, "name": reason`.
 * Group `labels` and `query_offset` (Prometheus 3) are accepted too.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from '../config/duration.js';
import { isLegacyLabelName, isLegacyMetricName, METRIC_NAME } from '../model/labels.js';
import { ParseError, parseExpr } from '../promql/index.js';
import { checkRuleTemplate } from './rule-templates.js';

/** One recording or alerting rule as written in a rule file. */
export interface RuleSpec {
  readonly kind: 'recording' | 'alerting';
  /** The `record` metric name or the `alert` name. */
  readonly name: string;
  readonly expr: string;
  /** `for`, ms (alerting rules only). */
  readonly forMs: number;
  /** `keep_firing_for`, ms (alerting rules only). */
  readonly keepFiringForMs: number;
  /** The rule's labels with the group's labels merged in (the rule's win). */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A rule group as loaded: its file, schedule and rules in evaluation order. */
export interface RuleGroupSpec {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  /** Most alerts or series a rule may produce; 0 means no limit. */
  readonly limit: number;
  /** How far back from the evaluation time the rules query, ms. */
  readonly queryOffsetMs: number;
  readonly rules: readonly RuleSpec[];
}

/** The outcome of loading rule files: groups when every file is valid, and every problem found. */
export interface RuleLoadResult {
  readonly groups: RuleGroupSpec[];
  readonly errors: string[];
}

const GROUP_FIELDS = new Set(['name', 'interval', 'limit', 'query_offset', 'labels', 'rules']);
const RULE_FIELDS = new Set(['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

class FileContext {
  readonly errors: string[] = [];
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  /** Records `reason`, prefixed by the node's position and the rule it belongs to. */
  report(node: Node | Pair | null | undefined, where: string, reason: string): void {
    const offset = nodeOffset(node);
    const pos = offset === null ? '' : `${this.lines.linePos(offset).line}:${this.lines.linePos(offset).col}: `;
    this.errors.push(`${this.file}: ${pos}${where}${where === '' ? '' : ': '}${reason}`);
  }
}

function nodeOffset(node: Node | Pair | null | undefined): number | null {
  if (!node) return null;
  if ('range' in node && node.range) return node.range[0];
  if ('key' in node && node.key && typeof node.key === 'object' && 'range' in node.key) return (node.key as Node).range?.[0] ?? null;
  return null;
}

function entries(map: YAMLMap): { key: string; pair: Pair; value: unknown }[] {
  return map.items.map((pair) => ({ key: isScalar(pair.key) ? String(pair.key.value) : String(pair.key), pair, value: pair.value }));
}

function scalarString(value: unknown): string | null {
  if (!isScalar(value)) return null;
  const v = value.value;
  if (v === null) return '';
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

function durationField(ctx: FileContext, value: unknown, where: string, field: string): number {
  const text = scalarString(value);
  const ms = text === null ? null : parseDuration(text);
  if (ms === null) {
    ctx.report(value as Node, where, `${field}: not a valid duration string: ${JSON.stringify(text ?? '')}`);
    return 0;
  }
  return ms;
}

function stringMap(ctx: FileContext, value: unknown, where: string, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || value === undefined || (isScalar(value) && value.value === null)) return out;
  if (!isMap(value)) {
    ctx.report(value as Node, where, `${field} must be a map of strings`);
    return out;
  }
  for (const { key, pair, value: v } of entries(value)) {
    const text = scalarString(v);
    if (text === null) ctx.report(pair, where, `${field}: value of ${JSON.stringify(key)} must be a string`);
    else out[key] = text;
  }
  return out;
}

function ruleWhere(group: string, index: number, name: string): string {
  return `group ${JSON.stringify(group)}, rule ${index}, ${JSON.stringify(name)}`;
}

function checkExpr(ctx: FileContext, exprNode: unknown, expr: string, where: string): void {
  try {
    parseExpr(expr);
  } catch (err) {
    if (err instanceof ParseError) ctx.report(exprNode as Node, where, `could not parse expression: ${err.message}`);
    else throw err;
  }
}

function parseRule(ctx: FileContext, node: unknown, group: string, index: number, groupLabels: Record<string, string>): RuleSpec | null {
  if (!isMap(node)) {
    ctx.report(node as Node, `group ${JSON.stringify(group)}, rule ${index}`, 'rule must be a map');
    return null;
  }
  const fields = new Map(entries(node).map((e) => [e.key, e]));
  const record = scalarString(fields.get('record')?.value) ?? '';
  const alert = scalarString(fields.get('alert')?.value) ?? '';
  const where = ruleWhere(group, index, record !== '' ? record : alert);
  const errorsBefore = ctx.errors.length;
  for (const { key, pair } of fields.values()) if (!RULE_FIELDS.has(key)) ctx.report(pair, where, `field ${key} not found in type rulefmt.RuleNode`);
  if (record !== '' && alert !== '') ctx.report(fields.get('record')?.pair, where, "only one of 'record' and 'alert' must be set");
  if (record === '' && alert === '') ctx.report(node, where, "one of 'record' or 'alert' must be set");
  const exprEntry = fields.get('expr');
  const expr = scalarString(exprEntry?.value) ?? '';
  if (expr === '') ctx.report(exprEntry?.pair ?? node, where, "field 'expr' must be set in rule");
  else checkExpr(ctx, exprEntry?.value, expr, where);
  const forMs = fields.has('for') ? durationField(ctx, fields.get('for')?.value, where, 'for') : 0;
  const keepFiringForMs = fields.has('keep_firing_for') ? durationField(ctx, fields.get('keep_firing_for')?.value, where, 'keep_firing_for') : 0;
  const ownLabels = stringMap(ctx, fields.get('labels')?.value, where, 'labels');
  const annotations = stringMap(ctx, fields.get('annotations')?.value, where, 'annotations');
  if (record !== '') {
    if (Object.keys(annotations).length > 0) ctx.report(fields.get('annotations')?.pair, where, "invalid field 'annotations' in recording rule");
    if (forMs !== 0) ctx.report(fields.get('for')?.pair, where, "invalid field 'for' in recording rule");
    if (keepFiringForMs !== 0) ctx.report(fields.get('keep_firing_for')?.pair, where, "invalid field 'keep_firing_for' in recording rule");
    if (!isLegacyMetricName(record)) ctx.report(fields.get('record')?.value as Node, where, `invalid recording rule name: ${record}`);
  }
  for (const name of Object.keys(ownLabels)) {
    if (!isLegacyLabelName(name) || name === METRIC_NAME) ctx.report(fields.get('labels')?.value as Node, where, `invalid label name: ${name}`);
  }
  for (const name of Object.keys(annotations)) {
    if (!isLegacyLabelName(name)) ctx.report(fields.get('annotations')?.value as Node, where, `invalid annotation name: ${name}`);
  }
  if (alert !== '') {
    for (const [field, kind, map] of [['labels', 'label', ownLabels], ['annotations', 'annotation', annotations]] as const) {
      for (const [key, text] of Object.entries(map)) {
        const problem = checkRuleTemplate(alert, text);
        if (problem !== null) ctx.report(fields.get(field)?.value as Node, where, `${kind} ${JSON.stringify(key)}: ${problem}`);
      }
    }
  }
  if (ctx.errors.length > errorsBefore) return null;
  return {
    kind: record !== '' ? 'recording' : 'alerting',
    name: record !== '' ? record : alert,
    expr,
    forMs,
    keepFiringForMs,
    labels: { ...groupLabels, ...ownLabels },
    annotations,
  };
}

function parseGroup(ctx: FileContext, node: unknown, index: number, defaultIntervalMs: number, seen: Set<string>): RuleGroupSpec | null {
  if (!isMap(node)) {
    ctx.report(node as Node, `group ${index + 1}`, 'group must be a map');
    return null;
  }
  const fields = new Map(entries(node).map((e) => [e.key, e]));
  const name = scalarString(fields.get('name')?.value) ?? '';
  const where = name === '' ? `group ${index + 1}` : `group ${JSON.stringify(name)}`;
  const errorsBefore = ctx.errors.length;
  for (const { key, pair } of fields.values()) if (!GROUP_FIELDS.has(key)) ctx.report(pair, where, `field ${key} not found in type rulefmt.RuleGroup`);
  if (name === '') ctx.report(node, where, 'Groupname must not be empty');
  else if (seen.has(name)) ctx.report(fields.get('name')?.value as Node, '', `groupname: "${name}" is repeated in the same file`);
  seen.add(name);
  const intervalMs = fields.has('interval') ? durationField(ctx, fields.get('interval')?.value, where, 'interval') : 0;
  const queryOffsetMs = fields.has('query_offset') ? durationField(ctx, fields.get('query_offset')?.value, where, 'query_offset') : 0;
  const limitText = fields.has('limit') ? scalarString(fields.get('limit')?.value) : '0';
  const limit = Number(limitText);
  if (limitText === null || !Number.isInteger(limit) || limit < 0) ctx.report(fields.get('limit')?.value as Node, where, `limit must be a non-negative integer`);
  const groupLabels = stringMap(ctx, fields.get('labels')?.value, where, 'labels');
  for (const labelName of Object.keys(groupLabels)) {
    if (!isLegacyLabelName(labelName) || labelName === METRIC_NAME) ctx.report(fields.get('labels')?.value as Node, where, `invalid label name: ${labelName}`);
  }
  const rulesNode = fields.get('rules')?.value;
  const rules: RuleSpec[] = [];
  if (rulesNode !== undefined && !(isScalar(rulesNode) && rulesNode.value === null)) {
    if (!isSeq(rulesNode)) ctx.report(rulesNode as Node, where, 'rules must be a list');
    else
      rulesNode.items.forEach((item, i) => {
        const rule = parseRule(ctx, item, name, i + 1, groupLabels);
        if (rule) rules.push(rule);
      });
  }
  if (ctx.errors.length > errorsBefore) return null;
  return { name, file: ctx.file, intervalMs: intervalMs === 0 ? defaultIntervalMs : intervalMs, limit, queryOffsetMs, rules };
}

/**
 * Parses and validates one rule file's text. `file` is the name used in messages and in the groups;
 * `defaultIntervalMs` is the interval of groups that set none (global.evaluation_interval).
 */
export function parseRuleFile(file: string, text: string, defaultIntervalMs: number): RuleLoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const ctx = new FileContext(file, lines);
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      ctx.errors.push(`${file}: ${pos ? `${pos.line}:${pos.col}: ` : ''}invalid YAML: ${err.message.split(/ at line \d+|\n/)[0]}`);
    }
    return { groups: [], errors: ctx.errors };
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { groups: [], errors: [] };
  if (!isMap(root)) return { groups: [], errors: [`${file}: a rule file must be a map with a "groups" list`] };
  const groups: RuleGroupSpec[] = [];
  const seen = new Set<string>();
  for (const { key, pair, value } of entries(root)) {
    if (key !== 'groups') {
      ctx.report(pair, '', `field ${key} not found in type rulefmt.RuleGroups`);
      continue;
    }
    if (isScalar(value) && value.value === null) continue;
    if (!isSeq(value)) {
      ctx.report(value as Node, '', 'groups must be a list');
      continue;
    }
    value.items.forEach((item, i) => {
      const group = parseGroup(ctx, item, i, defaultIntervalMs, seen);
      if (group) groups.push(group);
    });
  }
  return { groups: ctx.errors.length > 0 ? [] : groups, errors: ctx.errors };
}
