/**
 * Relabeling with Prometheus's semantics (relabel.Process): each rule sees the output of the
 * previous one; a keep/drop rule can discard the whole label set. Regexes are fully anchored and
 * replacements expand `$1`, `${1}`, `$name` and `${name}` as Go's regexp.Expand does.
 */
import { createHash } from 'node:crypto';
import type { RelabelConfig } from '../config/schema.js';
import { isLegacyLabelName, type Label, type Labels } from '../model/labels.js';
import { compileAnchoredRegex } from '../model/matchers.js';

/** A relabel rule with its regex compiled once. */
export interface CompiledRelabelRule {
  readonly config: RelabelConfig;
  readonly regex: RegExp;
}

/** Compiles rules once per configuration. Throws MatcherError on an invalid regex. */
export function compileRelabelRules(configs: readonly RelabelConfig[]): CompiledRelabelRule[] {
  return configs.map((config) => ({ config, regex: compileAnchoredRegex(config.regex) }));
}

/**
 * The hashmod value: Prometheus sums the MD5 digest into a uint64 shifting byte i left by
 * (15 - i) * 8 bits; Go drops shifts of 64 bits or more, so only the last 8 bytes count.
 */
export function hashmod(value: string, modulus: number): bigint {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return digest.readBigUInt64BE(8) % BigInt(modulus);
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}

/** Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in a template as Go's regexp.Expand does. */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    if (template.charCodeAt(dollar + 1) === 36) {
      out += '$';
      i = dollar + 2;
      continue;
    }
    const brace = template.charCodeAt(dollar + 1) === 123;
    let p = brace ? dollar + 2 : dollar + 1;
    const nameStart = p;
    while (p < template.length && isWordChar(template.charCodeAt(p))) p++;
    const name = template.slice(nameStart, p);
    if (name === '' || (brace && template.charCodeAt(p) !== 125)) {
      // Not a reference: Go keeps the "$" literally.
      out += '$';
      i = dollar + 1;
      continue;
    }
    i = brace ? p + 1 : p;
    out += groupValue(match, name);
  }
  return out;
}

function groupValue(match: RegExpExecArray, name: string): string {
  if (/^\d+$/.test(name) && !(name.length > 1 && name.startsWith('0'))) {
    return match[Number(name)] ?? '';
  }
  return match.groups?.[name] ?? '';
}

/**
 * Applies the rules to a label set. Returns the new sorted label set (empty values removed), or
 * null when a keep/drop/keepequal/dropequal rule discards it.
 */
export function relabel(labels: Labels, rules: readonly CompiledRelabelRule[]): Labels | null {
  if (rules.length === 0) return labels;
  const builder = new Map<string, string>();
  for (const l of labels) builder.set(l.name, l.value);
  for (const rule of rules) {
    if (!applyRule(builder, rule)) return null;
  }
  const out: Label[] = [];
  for (const [name, value] of builder) if (value !== '') out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function applyRule(lb: Map<string, string>, rule: CompiledRelabelRule): boolean {
  const cfg = rule.config;
  let value = '';
  for (let i = 0; i < cfg.source_labels.length; i++) {
    if (i > 0) value += cfg.separator;
    value += lb.get(cfg.source_labels[i]!) ?? '';
  }
  switch (cfg.action) {
    case 'drop':
      return !rule.regex.test(value);
    case 'keep':
      return rule.regex.test(value);
    case 'dropequal':
      return (lb.get(cfg.target_label) ?? '') !== value;
    case 'keepequal':
      return (lb.get(cfg.target_label) ?? '') === value;
    case 'replace': {
      const match = rule.regex.exec(value);
      if (match === null) return true;
      const target = expandTemplate(cfg.target_label, match);
      if (!isLegacyLabelName(target)) return true;
      setOrDelete(lb, target, expandTemplate(cfg.replacement, match));
      return true;
    }
    case 'lowercase':
      setOrDelete(lb, cfg.target_label, value.toLowerCase());
      return true;
    case 'uppercase':
      setOrDelete(lb, cfg.target_label, value.toUpperCase());
      return true;
    case 'hashmod':
      lb.set(cfg.target_label, hashmod(value, cfg.modulus ?? 1).toString());
      return true;
    case 'labelmap':
      // The regex is anchored, so Go's ReplaceAllString is one expansion of the whole name.
      for (const [name, v] of [...lb]) {
        const match = rule.regex.exec(name);
        if (match !== null) lb.set(expandTemplate(cfg.replacement, match), v);
      }
      return true;
    case 'labeldrop':
      for (const name of [...lb.keys()]) if (rule.regex.test(name)) lb.delete(name);
      return true;
    case 'labelkeep':
      for (const name of [...lb.keys()]) if (!rule.regex.test(name)) lb.delete(name);
      return true;
  }
}

function setOrDelete(lb: Map<string, string>, name: string, value: string): void {
  if (value === '') lb.delete(name);
  else lb.set(name, value);
}
