/**
 * Rule file validation: valid files (the project's examples, the shared examples) load and pass the
 * real `promtool check rules`; each kind of invalid file is rejected with file, line, group, rule
 * and reason, and promtool rejects it too.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuleFile } from './rule-file.js';
import { loadRuleFiles } from './rule-files.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../../..');
const exampleRules = join(repoRoot, 'examples/rules/service.rules.yml');
const sharedRules = resolve(repoRoot, '../shared/examples/rules.yml');
const promtoolMissing = !existsSync('/usr/bin/promtool') && !process.env.CI;
if (promtoolMissing) console.warn('promtool is not installed (apt-get install prometheus): skipping promtool check rules comparisons');

/** promtool's verdict on a rule file: true when `promtool check rules` accepts it. */
async function promtoolAccepts(file: string): Promise<boolean> {
  try {
    await run('promtool', ['check', 'rules', file], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wk-rule-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('valid rule files', () => {
  it('the project example rules load with their groups, intervals and rules', async () => {
    const result = parseRuleFile('service.rules.yml', await readFile(exampleRules, 'utf8'), 60_000);
    expect(result.errors).toEqual([]);
    expect(result.groups.map((g) => [g.name, g.intervalMs, g.rules.length])).toEqual([
      ['service-recording', 60_000, 3],
      ['service-alerts', 60_000, 5],
    ]);
    const backlog = result.groups[1]!.rules.find((r) => r.name === 'WorkerQueueBacklog')!;
    expect(backlog).toMatchObject({ kind: 'alerting', forMs: 600_000, keepFiringForMs: 300_000, labels: { severity: 'warning' } });
  });

  it.skipIf(!existsSync(sharedRules))('the shared examples load unchanged', async () => {
    const result = parseRuleFile(sharedRules, await readFile(sharedRules, 'utf8'), 15_000);
    expect(result.errors).toEqual([]);
    expect(result.groups.map((g) => [g.name, g.intervalMs])).toEqual([
      ['api-recording', 30_000],
      ['api-critical', 60_000],
      ['api-warning', 60_000],
    ]);
    expect(result.groups.flatMap((g) => g.rules).length).toBe(10);
  });

  it.skipIf(promtoolMissing)('promtool check rules accepts the project and shared examples', async () => {
    expect(await promtoolAccepts(exampleRules)).toBe(true);
    if (existsSync(sharedRules)) expect(await promtoolAccepts(sharedRules)).toBe(true);
  });

  it('group labels and query_offset (Prometheus 3) apply, the rule label winning; interval defaults to the global one', () => {
    const text = 'groups:\n  - name: g\n    query_offset: 30s\n    limit: 5\n    labels: {team: a, tier: x}\n    rules:\n      - record: r\n        expr: up\n        labels: {tier: y}\n';
    const { groups, errors } = parseRuleFile('f.yml', text, 20_000);
    expect(errors).toEqual([]);
    expect(groups[0]).toMatchObject({ intervalMs: 20_000, queryOffsetMs: 30_000, limit: 5, rules: [{ labels: { team: 'a', tier: 'y' } }] });
  });
});

/** Invalid files: the text, and what the message must say (file:line:col: group, rule, reason). */
const INVALID: [string, string, string][] = [
  ['bad YAML', 'groups:\n  - name: [\n', 'bad.yml: 3:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  [
    'bad PromQL, with the position in the expression',
    'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: sum(rate(foo[5m])\n',
    'bad.yml: 5:15: group "a", rule 1, "X": could not parse expression: 1:18: parse error: unexpected end of input',
  ],
  [
    'unknown template function',
    "groups:\n  - name: a\n    rules:\n      - alert: Y\n        expr: up\n        annotations:\n          s: '{{ nosuch $value }}'\n",
    'bad.yml: 7:11: group "a", rule 1, "Y": annotation "s": template: __alert_Y:1: function "nosuch" not defined',
  ],
  ['duplicate group names', 'groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n', 'bad.yml: 4:11: groupname: "a" is repeated in the same file'],
  ['missing expr', 'groups:\n  - name: a\n    rules:\n      - alert: W\n', `bad.yml: 4:9: group "a", rule 1, "W": field 'expr' must be set in rule`],
  ['both record and alert', 'groups:\n  - name: a\n    rules:\n      - record: r\n        alert: Z\n        expr: up\n', `bad.yml: 4:9: group "a", rule 1, "r": only one of 'record' and 'alert' must be set`],
  ['bad label name', "groups:\n  - name: a\n    rules:\n      - alert: W\n        expr: up\n        labels:\n          'bad-label': x\n", 'bad.yml: 7:11: group "a", rule 1, "W": invalid label name: bad-label'],
  ['for in a recording rule', 'groups:\n  - name: a\n    rules:\n      - record: r\n        expr: up\n        for: 5m\n', `bad.yml: 6:9: group "a", rule 1, "r": invalid field 'for' in recording rule`],
  ['bad recording rule name', "groups:\n  - name: a\n    rules:\n      - record: 'bad-name'\n        expr: up\n", 'bad.yml: 4:17: group "a", rule 1, "bad-name": invalid recording rule name: bad-name'],
  ['unknown field', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        unknown: 1\n', 'bad.yml: 6:9: group "a", rule 1, "X": field unknown not found in type rulefmt.RuleNode'],
  ['bad duration', 'groups:\n  - name: a\n    interval: 5 minutes\n    rules: []\n', 'bad.yml: 3:15: group "a": interval: not a valid duration string: "5 minutes"'],
  ['empty group name', 'groups:\n  - rules: []\n', 'bad.yml: 2:5: group 1: Groupname must not be empty'],
];

describe('invalid rule files are rejected with file, line, group, rule and reason', () => {
  it.each(INVALID)('%s', async (_name, text, message) => {
    const { groups, errors } = parseRuleFile('bad.yml', text, 60_000);
    expect(groups).toEqual([]);
    expect(errors).toContain(message);
    if (!promtoolMissing) {
      const file = join(dir, `${_name.replace(/\W+/g, '-')}.yml`);
      await writeFile(file, text);
      expect(await promtoolAccepts(file)).toBe(false);
    }
  });

  it('loading reports every problem of every file and yields no groups (a reload is rejected as a whole)', async () => {
    const sub = join(dir, 'rules.d');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, 'good.yml'), 'groups:\n  - name: ok\n    rules:\n      - record: r\n        expr: up\n');
    await writeFile(join(sub, 'bad.yml'), INVALID[1]![1]);
    await writeFile(join(sub, 'ignored.txt'), 'not a rule file');
    const result = await loadRuleFiles(['rules.d/*.yml', 'missing/*.yml'], dir, 60_000);
    expect(result.groups).toEqual([]);
    expect(result.errors).toEqual([`${join(sub, 'bad.yml')}: 5:15: group "a", rule 1, "X": could not parse expression: 1:18: parse error: unexpected end of input`]);
    await rm(join(sub, 'bad.yml'));
    const ok = await loadRuleFiles(['rules.d/*.yml'], dir, 60_000);
    expect(ok.errors).toEqual([]);
    expect(ok.groups.map((g) => [g.file, g.name])).toEqual([[join(sub, 'good.yml'), 'ok']]);
  });
});
