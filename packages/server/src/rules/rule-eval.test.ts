/**
 * Rule evaluation errors and options Prometheus defines beyond what promtool's test format shows:
 * limits, duplicate label sets after relabelling, non-vector results, query offset and group labels.
 */
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, labelsToRecord } from '../model/labels.js';
import { AlertingRule } from './alerting-rule.js';
import { RecordingRule } from './recording-rule.js';
import { parseRuleFile, type RuleSpec } from './rule-file.js';
import type { RuleQuery } from './rule-query.js';

const two: RuleQuery = (_expr, t) =>
  Promise.resolve([
    { labels: labelsFromRecord({ __name__: 'up', job: 'a', instance: '1' }), t, v: 1 },
    { labels: labelsFromRecord({ __name__: 'up', job: 'a', instance: '2' }), t, v: 0 },
  ]);

function spec(partial: Partial<RuleSpec>): RuleSpec {
  return { kind: 'alerting', name: 'R', expr: 'up', forMs: 0, keepFiringForMs: 0, labels: {}, annotations: {}, ...partial };
}

describe('recording rules', () => {
  it('rename the result and set their labels, at the query time', async () => {
    const rule = new RecordingRule(spec({ kind: 'recording', name: 'job:up', labels: { team: 'x' } }));
    const out = await rule.eval(5000, two, 0);
    expect(out.map((s) => [labelsToRecord(s.labels), s.t])).toEqual([
      [{ __name__: 'job:up', instance: '1', job: 'a', team: 'x' }, 5000],
      [{ __name__: 'job:up', instance: '2', job: 'a', team: 'x' }, 5000],
    ]);
  });

  it('fail on duplicate label sets after relabelling and above the limit', async () => {
    const rule = new RecordingRule(spec({ kind: 'recording', name: 'r', labels: { instance: 'same' } }));
    await expect(rule.eval(0, two, 0)).rejects.toThrow('vector contains metrics with the same labelset after applying rule labels');
    await expect(new RecordingRule(spec({ kind: 'recording', name: 'r' })).eval(0, two, 1)).rejects.toThrow('exceeded limit of 1 with 2 series');
  });
});

describe('alerting rules', () => {
  it('fail on duplicate alert label sets and above the limit (dropping their alerts)', async () => {
    const dup = new AlertingRule(spec({ labels: { instance: 'same' } }), {}, '');
    await expect(dup.eval(0, 0, two, 0)).rejects.toThrow('vector contains metrics with the same labelset after applying alert labels');
    const limited = new AlertingRule(spec({}), {}, '');
    await expect(limited.eval(0, 0, two, 1)).rejects.toThrow('exceeded limit of 1 with 2 alerts');
    expect(limited.active.size).toBe(0);
  });

  it('query and write at the offset time but keep alert times at the evaluation time', async () => {
    const asked: number[] = [];
    const query: RuleQuery = (expr, t) => {
      asked.push(t);
      return two(expr, t);
    };
    const rule = new AlertingRule(spec({ forMs: 60_000 }), {}, '');
    const out = await rule.eval(120_000, 90_000, query, 0);
    expect(asked).toEqual([90_000]);
    expect(new Set(out.map((s) => s.t))).toEqual(new Set([90_000]));
    expect([...rule.active.values()].map((a) => a.activeAt)).toEqual([120_000, 120_000]);
  });

  it('an unrestored rule evaluates but writes nothing until its state is restored', async () => {
    const rule = new AlertingRule(spec({ forMs: 60_000 }), {}, '');
    rule.restored = false;
    expect(await rule.eval(0, 0, two, 0)).toEqual([]);
    await rule.restoreForState(0, () => Promise.resolve(null), 600_000);
    expect((await rule.eval(60_000, 60_000, two, 0)).length).toBe(4);
  });
});

describe('group options', () => {
  it('group labels reach alerts, the rule label winning', async () => {
    const { groups } = parseRuleFile('f.yml', 'groups:\n  - name: g\n    labels: {team: a, tier: x}\n    rules:\n      - alert: A\n        expr: up\n        labels: {tier: y}\n', 60_000);
    const rule = new AlertingRule(groups[0]!.rules[0]!, {}, '');
    await rule.eval(0, 0, two, 0);
    expect(labelsToRecord([...rule.active.values()][0]!.labels)).toEqual({ alertname: 'A', instance: '1', job: 'a', team: 'a', tier: 'y' });
  });
});
