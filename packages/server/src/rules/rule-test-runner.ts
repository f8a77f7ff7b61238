/**
 * Runs rule unit tests written in `promtool test rules`'s file format (rule_files, evaluation_interval,
 * tests with input_series in the expanding series notation, alert_rule_test and promql_expr_test),
 * against Watchkeeper's rule evaluation, so one test file checks both Watchkeeper and Prometheus.
 * Each test gets a fresh in-memory storage; rules are evaluated from time 0 to the last eval_time.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../config/duration.js';
import { compareLabels, formatLabels, labelsFromRecord, type Labels } from '../model/labels.js';
import { Engine } from '../promql/index.js';
import { floatsMatch } from '../promql/test-script/runner.js';
import { parseMetric, parseValues } from '../promql/test-script/script-parser.js';
import { MemoryStorage } from '../storage/memory/memory-storage.js';
import { AlertingRule } from './alerting-rule.js';
import { loadRuleFiles } from './rule-files.js';
import { RuleGroup, type GroupContext } from './rule-group.js';
import { createRuleMetrics } from './rule-metrics.js';
import { engineRuleQuery } from './rule-query.js';

interface ExpectedAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}

interface TestCase {
  name?: string;
  interval?: string;
  external_labels?: Record<string, string>;
  external_url?: string;
  input_series?: { series: string; values: string }[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: ExpectedAlert[] }[];
  promql_expr_test?: { expr: string; eval_time: string; exp_samples?: { labels: string; value: number }[] }[];
}

interface TestFile {
  rule_files?: string[];
  evaluation_interval?: string;
  tests?: TestCase[];
}

function duration(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(String(text));
  if (ms === null) throw new Error(`${what}: not a valid duration: ${JSON.stringify(text)}`);
  return ms;
}

/** A comparable text of an alert: labels then annotations, as promtool prints them. */
function alertText(labels: Labels, annotations: Record<string, string>): string {
  return `labels:${formatLabels(labels)}, annotations:${formatLabels(labelsFromRecord(annotations))}`;
}

async function loadInput(storage: MemoryStorage, series: TestCase['input_series'], intervalMs: number): Promise<void> {
  const app = storage.appender();
  for (const [i, s] of (series ?? []).entries()) {
    const labels = parseMetric(s.series, i + 1);
    parseValues(String(s.values), i + 1).forEach((v, step) => {
      if (v.kind === 'float') app.append(0, labels, step * intervalMs, v.v);
    });
  }
  await app.commit();
}

async function runTest(tc: TestCase, ruleFiles: string[], dir: string, evalIntervalMs: number): Promise<string[]> {
  const failures: string[] = [];
  const loaded = await loadRuleFiles(ruleFiles, dir, evalIntervalMs);
  if (loaded.errors.length > 0) return loaded.errors;
  const storage = new MemoryStorage();
  await loadInput(storage, tc.input_series, duration(tc.interval, 60_000, 'interval'));
  const engine = new Engine();
  const ctx: GroupContext = {
    query: engineRuleQuery(engine, storage),
    queryable: storage,
    appendable: storage,
    sink: { pushAlerts: (alerts) => ({ accepted: alerts.length, errors: [] }) },
    metrics: createRuleMetrics(new Registry()),
    logger: pino({ level: 'silent' }),
    clock: { now: () => 0, setTimeout: () => null, clearTimeout: () => undefined },
    externalLabels: tc.external_labels ?? {},
    externalUrl: tc.external_url ?? '',
    resendDelayMs: 60_000,
    outageToleranceMs: 3600_000,
    gracePeriodMs: 600_000,
  };
  const groups = loaded.groups.map((spec) => new RuleGroup(spec, ctx));
  const alertTests = (tc.alert_rule_test ?? []).map((t) => ({ ...t, at: duration(t.eval_time, 0, 'eval_time') }));
  const exprTests = (tc.promql_expr_test ?? []).map((t) => ({ ...t, at: duration(t.eval_time, 0, 'eval_time') }));
  const maxT = Math.max(0, ...alertTests.map((t) => t.at), ...exprTests.map((t) => t.at));
  for (let ts = 0; ts <= maxT; ts += evalIntervalMs) {
    for (const g of groups) if (ts % g.spec.intervalMs === 0) await g.evaluate(ts);
    for (const t of alertTests.filter((x) => x.at === ts)) {
      const got = groups
        .flatMap((g) => g.rules)
        .filter((r): r is AlertingRule => r instanceof AlertingRule && r.name === t.alertname)
        .flatMap((r) => [...r.active.values()].filter((a) => a.state === 'firing'))
        .map((a) => alertText(a.labels, a.annotations))
        .sort();
      const expected = (t.exp_alerts ?? [])
        .map((e) => alertText(labelsFromRecord({ ...(e.exp_labels ?? {}), alertname: t.alertname }), e.exp_annotations ?? {}))
        .sort();
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        failures.push(`${tc.name ?? ''} alertname: ${t.alertname}, time: ${t.eval_time},\n  exp:${JSON.stringify(expected)},\n  got:${JSON.stringify(got)}`);
      }
    }
    for (const t of exprTests.filter((x) => x.at === ts)) {
      let got: { labels: Labels; v: number }[];
      try {
        got = (await ctx.query(t.expr, ts)).map((s) => ({ labels: s.labels, v: s.v }));
      } catch (err) {
        failures.push(`${tc.name ?? ''} expr: ${JSON.stringify(t.expr)}, time: ${t.eval_time}, err: ${(err as Error).message}`);
        continue;
      }
      const expected = (t.exp_samples ?? []).map((s, i) => ({ labels: parseMetric(s.labels, i + 1), v: Number(s.value) }));
      got.sort((a, b) => compareLabels(a.labels, b.labels));
      expected.sort((a, b) => compareLabels(a.labels, b.labels));
      const same = got.length === expected.length && got.every((g, i) => compareLabels(g.labels, expected[i]!.labels) === 0 && floatsMatch(g.v, expected[i]!.v));
      if (!same) {
        const show = (xs: typeof got) => xs.map((x) => `${formatLabels(x.labels)} ${x.v}`).join(', ');
        failures.push(`${tc.name ?? ''} expr: ${JSON.stringify(t.expr)}, time: ${t.eval_time},\n  exp: ${show(expected)}\n  got: ${show(got)}`);
      }
    }
  }
  return failures;
}

/** Runs every test of a promtool test file; returns the failures (empty when all pass). */
export async function runRuleTestFile(path: string): Promise<string[]> {
  const file = parseYaml(await readFile(path, 'utf8')) as TestFile;
  const evalIntervalMs = duration(file.evaluation_interval, 60_000, 'evaluation_interval');
  const failures: string[] = [];
  for (const tc of file.tests ?? []) failures.push(...(await runTest(tc, file.rule_files ?? [], dirname(path), evalIntervalMs)));
  return failures;
}
