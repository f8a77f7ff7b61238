/**
 * Finds and loads the files named by `rule_files:`: patterns relative to the configuration file's
 * directory, with Go's filepath.Glob syntax (`*`, `?`, `[...]` within one path component), as
 * Prometheus expands them. A pattern matching nothing is not an error, as in Prometheus.
 */
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { parseRuleFile, type RuleGroupSpec, type RuleLoadResult } from './rule-file.js';

const META = /[*?[]/;

function componentRegex(component: string): RegExp {
  let re = '';
  for (let i = 0; i < component.length; i++) {
    const ch = component[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = component.indexOf(']', i + 1);
      if (end < 0) throw new Error(`syntax error in pattern ${JSON.stringify(component)}`);
      // Go's class syntax, including `[^...]` negation, is JavaScript's.
      re += `[${component.slice(i + 1, end)}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < component.length) re += `\\${component[++i]}`;
    else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function expand(base: string, components: string[]): Promise<string[]> {
  if (components.length === 0) return [base];
  const [head, ...rest] = components as [string, ...string[]];
  if (!META.test(head)) return expand(join(base, head), rest);
  const re = componentRegex(head);
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) if (re.test(name) && !(name.startsWith('.') && !head.startsWith('.'))) out.push(...(await expand(join(base, name), rest)));
  return out;
}

/** Files matching `pattern` (relative patterns resolve against `configDir`), sorted. */
export async function globRuleFiles(pattern: string, configDir: string): Promise<string[]> {
  const absolute = isAbsolute(pattern) ? pattern : resolve(configDir, pattern);
  const root = absolute.startsWith(sep) ? sep : '';
  return expand(root, absolute.split(sep).filter((c) => c !== ''));
}

/**
 * Loads every rule file the patterns name. The result holds groups only when no file has a problem,
 * so a caller can reject a reload as a whole; `errors` names file, line, group, rule and reason.
 */
export async function loadRuleFiles(patterns: readonly string[], configDir: string, defaultIntervalMs: number): Promise<RuleLoadResult> {
  const groups: RuleGroupSpec[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    let files: string[];
    try {
      files = await globRuleFiles(pattern, configDir);
    } catch (err) {
      errors.push(`rule_files: ${JSON.stringify(pattern)}: ${(err as Error).message}`);
      continue;
    }
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        errors.push(`${file}: ${(err as Error).message}`);
        continue;
      }
      const result = parseRuleFile(file, text, defaultIntervalMs);
      groups.push(...result.groups);
      errors.push(...result.errors);
    }
  }
  return { groups: errors.length > 0 ? [] : groups, errors };
}
