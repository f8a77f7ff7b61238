/**
 * The rule manager on an injected clock: Prometheus's send and resend timing, resolution with
 * staleness markers and resolved retention, restoring a firing alert after a restart without
 * re-pending it, reloads (invalid files keep the running rules), evaluation alignment, missed
 * iterations, and alerts from Watchkeeper's own sources reaching the real AlertManagerService.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertManagerService } from '../alerting/index.js';
import { labelsFromRecord, type Labels } from '../model/labels.js';
import { isStaleNaN } from '../model/samples.js';
import { Engine } from '../promql/index.js';
import { HealthRegistry } from '../selfobs/health.js';
import type { MetricsStorage } from '../storage/interfaces.js';
import { MemoryStorage } from '../storage/memory/memory-storage.js';
import { openTsdb } from '../tsdb/index.js';
import { AlertingRule, type OutgoingAlert } from './alerting-rule.js';
import { alignedEvalTime, type RuleClock } from './rule-group.js';
import { RuleManager } from './rule-manager.js';

const MIN = 60_000;
/** A start time on a whole hour, so minutes below read as offsets from it. */
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

class ManualClock implements RuleClock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  constructor(public nowMs: number) {}
  now(): number {
    return this.nowMs;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.nowMs + ms, fn, id });
    return id;
  }
  clearTimeout(handle: never): void {
    this.timers = this.timers.filter((t) => t.id !== (handle as number));
  }
  /** Runs due timers in time order up to `t`, letting each evaluation finish. */
  async advanceTo(t: number): Promise<void> {
    for (let guard = 0; guard < 10_000; guard++) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > t) break;
      this.timers.shift();
      this.nowMs = Math.max(this.nowMs, next.at);
      const waiting = this.timers.length;
      next.fn();
      // The group re-arms its timer once its evaluation (with storage I/O) is done; wait for that, bounded.
      for (let i = 0; i < 5000 && this.timers.length === waiting; i++) await new Promise((r) => setTimeout(r, i < 10 ? 0 : 1));
    }
    this.nowMs = t;
  }
}

class RecordingSink {
  readonly sent: { at: number; alert: OutgoingAlert }[] = [];
  constructor(private readonly clock: ManualClock) {}
  pushAlerts(alerts: readonly OutgoingAlert[]) {
    for (const alert of alerts) this.sent.push({ at: this.clock.now(), alert });
    return { accepted: alerts.length, errors: [] };
  }
  of(name: string) {
    return this.sent.filter((s) => s.alert.labels['alertname'] === name);
  }
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wk-rule-manager-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `up{job="api",instance="a:80"}` every 15 s over [from, to), valued by `value(t)`. */
async function writeUp(storage: MetricsStorage, from: number, to: number, value: (t: number) => number): Promise<void> {
  const app = storage.appender();
  const labels = labelsFromRecord({ __name__: 'up', job: 'api', instance: 'a:80' });
  for (let t = from; t < to; t += 15_000) app.append(0, labels, t, value(t));
  await app.commit();
}

async function samples(storage: MetricsStorage, selector: Record<string, string>, from: number, to: number): Promise<{ labels: Labels; t: number; v: number }[]> {
  const matchers = Object.entries(selector).map(([name, value]) => ({ name, type: '=' as const, value }));
  const series = await storage.querier(from, to).select(matchers, { start: from, end: to });
  return series.flatMap((s) => Array.from(s.timestamps, (t, i) => ({ labels: s.labels, t, v: s.values[i]! })));
}

const RULES = `groups:
  - name: availability
    interval: 1m
    rules:
      - alert: Down
        expr: up == 0
        for: 5m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} of {{ $labels.job }} is down ({{ $externalLabels.region }})"}
      - alert: DownLong
        expr: up == 0
        for: 15m
`;

function newManager(storage: MetricsStorage, clock: ManualClock, sink: RecordingSink, extra: { outageToleranceMs?: number; registry?: Registry } = {}) {
  return new RuleManager({
    engine: new Engine(),
    queryable: storage,
    appendable: storage,
    alertSink: sink,
    logger: pino({ level: 'silent' }),
    registry: extra.registry ?? new Registry(),
    health: new HealthRegistry(),
    externalLabels: { region: 'eu' },
    externalUrl: 'http://wk.example:9700/',
    clock,
    ...(extra.outageToleranceMs !== undefined ? { outageToleranceMs: extra.outageToleranceMs } : {}),
  });
}

function alertOf(manager: RuleManager, name: string) {
  const rule = manager.groups()[0]!.rules.find((r) => r.name === name) as AlertingRule;
  return [...rule.active.values()][0];
}

async function rulesFile(name: string, text: string): Promise<string> {
  await writeFile(join(dir, name), text);
  return name;
}

describe('alert lifecycle', () => {
  it('pending, firing with resends every resend delay, then resolved with a staleness marker and resent for 15 minutes', async () => {
    const storage = new MemoryStorage();
    await writeUp(storage, T0 - 10 * MIN, T0 + 60 * MIN, (t) => (t >= T0 + 2 * MIN && t < T0 + 12 * MIN ? 0 : 1));
    const clock = new ManualClock(T0);
    const sink = new RecordingSink(clock);
    const manager = newManager(storage, clock, sink);
    expect(await manager.applyConfig([await rulesFile('lifecycle.yml', RULES)], dir, MIN)).toEqual([]);
    manager.start();
    await clock.advanceTo(T0 + 50 * MIN);
    await manager.stop();

    const sends = sink.of('Down');
    const activeAt = sends[0]!.alert.startsAt - 5 * MIN;
    // Firing alerts: sent when they fire, then whenever the last send is more than 1m old.
    const firing = sends.filter((s) => s.alert.endsAt > s.at);
    expect(firing.map((s) => s.at - firing[0]!.at)).toEqual([0, 2 * MIN, 4 * MIN]);
    for (const s of firing) expect(s.alert.endsAt).toBe(s.at + 4 * MIN);
    expect(firing[0]!.alert).toMatchObject({
      labels: { alertname: 'Down', instance: 'a:80', job: 'api', severity: 'critical', region: 'eu' },
      annotations: { summary: 'a:80 of api is down (eu)' },
      generatorURL: 'http://wk.example:9700/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
    });
    // Resolved: sent at once with endsAt = resolution time, resent while retained (15m), then dropped.
    const resolved = sends.filter((s) => s.alert.endsAt <= s.at);
    const resolvedAt = resolved[0]!.alert.endsAt;
    expect(resolved[0]!.at).toBe(resolvedAt);
    expect(resolved.every((s) => s.alert.endsAt === resolvedAt && s.at - resolvedAt <= 16 * MIN)).toBe(true);
    expect(resolved.length).toBe(8);
    expect(alertOf(manager, 'Down')).toBeUndefined();

    const alerts = await samples(storage, { __name__: 'ALERTS', alertname: 'Down' }, T0, T0 + 50 * MIN);
    const pending = alerts.filter((s) => s.labels.some((l) => l.name === 'alertstate' && l.value === 'pending'));
    const firingSeries = alerts.filter((s) => s.labels.some((l) => l.name === 'alertstate' && l.value === 'firing'));
    expect(pending[0]!.t).toBe(activeAt);
    expect(isStaleNaN(pending.at(-1)!.v)).toBe(true);
    expect(isStaleNaN(firingSeries.at(-1)!.v)).toBe(true);
    expect(firingSeries.at(-1)!.t).toBe(resolvedAt);
    const forState = await samples(storage, { __name__: 'ALERTS_FOR_STATE', alertname: 'Down' }, T0, T0 + 50 * MIN);
    expect(forState[0]!.v).toBe(Math.floor(activeAt / 1000));
  });
});

describe('restart', () => {
  async function firingThenRestart(outageToleranceMs?: number) {
    const storage = new MemoryStorage();
    await writeUp(storage, T0 - 10 * MIN, T0 + 60 * MIN, () => 0);
    const clock = new ManualClock(T0);
    const before = new RecordingSink(clock);
    const first = newManager(storage, clock, before);
    const file = await rulesFile('restart.yml', RULES);
    await first.applyConfig([file], dir, MIN);
    first.start();
    await clock.advanceTo(T0 + 20 * MIN);
    const firedBefore = { ...alertOf(first, 'Down')! };
    const longBefore = { ...alertOf(first, 'DownLong')! };
    await first.stop();
    // Down for 2 minutes, then a new manager on the same storage.
    await clock.advanceTo(T0 + 22 * MIN);
    const after = new RecordingSink(clock);
    const second = newManager(storage, clock, after, outageToleranceMs === undefined ? {} : { outageToleranceMs });
    await second.applyConfig([file], dir, MIN);
    second.start();
    await clock.advanceTo(T0 + 25 * MIN);
    await second.stop();
    return { storage, firedBefore, longBefore, second, after };
  }

  it('restores a firing alert from ALERTS_FOR_STATE: it fires again with its original active time, never pending, never resolved', async () => {
    const { storage, firedBefore, longBefore, second, after } = await firingThenRestart();
    expect(firedBefore.state).toBe('firing');
    // ALERTS_FOR_STATE holds whole seconds, so the restored active time is the original one truncated.
    expect(alertOf(second, 'Down')).toMatchObject({ state: 'firing', activeAt: Math.floor(firedBefore.activeAt / 1000) * 1000 });
    expect(alertOf(second, 'DownLong')).toMatchObject({ state: 'firing', activeAt: Math.floor(longBefore.activeAt / 1000) * 1000 });
    const pendingAfter = await samples(storage, { __name__: 'ALERTS', alertstate: 'pending' }, T0 + 20 * MIN + 1, T0 + 25 * MIN);
    expect(pendingAfter).toEqual([]);
    expect(after.sent.length).toBeGreaterThan(0);
    expect(after.sent.every((s) => s.alert.endsAt > s.at)).toBe(true);
  });

  it('through the embedded TSDB: ALERTS_FOR_STATE survives close and WAL replay, and the alert keeps firing', async () => {
    const clock = new ManualClock(T0);
    const open = () =>
      openTsdb({
        dir: join(dir, 'tsdb'),
        logger: pino({ level: 'silent' }),
        registry: new Registry(),
        blockDurationMs: 2 * 3600_000,
        retentionMs: 15 * 24 * 3600_000,
        retentionBytes: 0,
        outOfOrderWindowMs: 0,
        walSegmentBytes: 1 << 20,
        maxLabelNameLength: 128,
        maxLabelValueLength: 1024,
        maxLabelsPerSeries: 32,
        maxSeriesPerRequest: 100_000,
        now: () => clock.now(),
      });
    let db = await open();
    await writeUp(db, T0 - 10 * MIN, T0 + 30 * MIN, () => 0);
    const file = await rulesFile('tsdb.yml', RULES);
    const first = newManager(db, clock, new RecordingSink(clock));
    await first.applyConfig([file], dir, MIN);
    first.start();
    await clock.advanceTo(T0 + 20 * MIN);
    const activeAt = alertOf(first, 'Down')!.activeAt;
    await first.stop();
    await db.close();
    await clock.advanceTo(T0 + 21 * MIN);
    db = await open();
    const sink = new RecordingSink(clock);
    const second = newManager(db, clock, sink);
    await second.applyConfig([file], dir, MIN);
    second.start();
    await clock.advanceTo(T0 + 24 * MIN);
    await second.stop();
    expect(alertOf(second, 'Down')).toMatchObject({ state: 'firing', activeAt: Math.floor(activeAt / 1000) * 1000 });
    expect(await samples(db, { __name__: 'ALERTS', alertstate: 'pending' }, T0 + 20 * MIN + 1, T0 + 24 * MIN)).toEqual([]);
    expect(sink.of('Down').length).toBeGreaterThan(0);
    await db.close();
  });

  it('beyond the outage tolerance the state is not restored and the alert pends again', async () => {
    const { second } = await firingThenRestart(60_000);
    expect(alertOf(second, 'Down')!.state).toBe('pending');
  });
});

describe('reload', () => {
  it('an invalid file keeps the running rules; a changed group keeps its alerts; a removed group marks its series stale', async () => {
    const storage = new MemoryStorage();
    await writeUp(storage, T0 - 10 * MIN, T0 + 60 * MIN, () => 0);
    const clock = new ManualClock(T0);
    const sink = new RecordingSink(clock);
    const manager = newManager(storage, clock, sink);
    const file = await rulesFile('reload.yml', RULES);
    await manager.applyConfig([file], dir, MIN);
    manager.start();
    await clock.advanceTo(T0 + 10 * MIN);
    const group = manager.groups()[0]!;
    const activeAt = alertOf(manager, 'Down')!.activeAt;

    await rulesFile('broken.yml', 'groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up ==\n');
    const problems = await manager.applyConfig([file, 'broken.yml'], dir, MIN);
    expect(problems[0]).toMatch(/broken\.yml: 5:15: group "x", rule 1, "A": could not parse expression/);
    expect(manager.groups()[0]).toBe(group);

    await rulesFile('reload.yml', RULES.replace('is down', 'is unreachable'));
    expect(await manager.applyConfig([file], dir, MIN)).toEqual([]);
    expect(manager.groups()[0]).not.toBe(group);
    await clock.advanceTo(T0 + 12 * MIN);
    expect(alertOf(manager, 'Down')).toMatchObject({ state: 'firing', activeAt, annotations: { summary: 'a:80 of api is unreachable (eu)' } });

    await rulesFile('empty.yml', 'groups: []\n');
    expect(await manager.applyConfig(['empty.yml'], dir, MIN)).toEqual([]);
    expect(manager.groups()).toEqual([]);
    const alerts = await samples(storage, { __name__: 'ALERTS', alertstate: 'firing' }, T0, T0 + 13 * MIN);
    expect(isStaleNaN(alerts.at(-1)!.v)).toBe(true);
    await manager.stop();
  });
});

describe('concurrent reloads', () => {
  it('apply one after the other: the last one wins and no group is left running twice', async () => {
    const clock = new ManualClock(T0);
    const manager = newManager(new MemoryStorage(), clock, new RecordingSink(clock));
    await rulesFile('one.yml', RULES);
    await rulesFile('two.yml', RULES.replace('availability', 'other'));
    const results = await Promise.all([manager.applyConfig(['one.yml'], dir, MIN), manager.applyConfig(['two.yml'], dir, MIN), manager.applyConfig(['one.yml', 'two.yml'], dir, MIN)]);
    expect(results).toEqual([[], [], []]);
    expect(manager.groups().map((g) => g.spec.name)).toEqual(['availability', 'other']);
    await manager.stop();
  });
});

describe('scheduling', () => {
  it('evaluates at times aligned by the group hash, one interval after start', async () => {
    const storage = new MemoryStorage();
    const start = T0 + 7_777;
    const clock = new ManualClock(start);
    const manager = newManager(storage, clock, new RecordingSink(clock));
    await manager.applyConfig([await rulesFile('align.yml', RULES)], dir, MIN);
    manager.start();
    await clock.advanceTo(start + 3 * MIN);
    const group = manager.groups()[0]!;
    const aligned = alignedEvalTime(start, MIN, 'availability', join(dir, 'align.yml'));
    expect(aligned).toBeLessThanOrEqual(start);
    expect(start - aligned).toBeLessThan(MIN);
    expect(group.lastEvaluationMs).toBe(aligned + 3 * MIN);
    expect(alignedEvalTime(start, MIN, 'other', 'f.yml')).not.toBe(aligned);
    await manager.stop();
  });

  it('counts missed iterations when an evaluation comes late', async () => {
    const storage = new MemoryStorage();
    const clock = new ManualClock(T0);
    const registry = new Registry();
    const manager = newManager(storage, clock, new RecordingSink(clock), { registry });
    await manager.applyConfig([await rulesFile('missed.yml', RULES)], dir, MIN);
    manager.start();
    const aligned = alignedEvalTime(T0, MIN, 'availability', join(dir, 'missed.yml'));
    await clock.advanceTo(aligned + 2 * MIN + 1000);
    // The evaluation due at +3m only runs at +7m30s: +3m to +6m are missed, +7m is evaluated.
    clock.nowMs = aligned + 7 * MIN + 30_000;
    await clock.advanceTo(clock.nowMs);
    expect(manager.groups()[0]!.lastEvaluationMs).toBe(aligned + 7 * MIN);
    const missed = await registry.getSingleMetric('watchkeeper_rule_group_iterations_missed_total')!.get();
    expect(missed.values[0]!.value).toBe(4);
    const evaluations = await registry.getSingleMetric('watchkeeper_rule_evaluations_total')!.get();
    expect(evaluations.values[0]!.labels['rule_group']).toBe(`${join(dir, 'missed.yml')};availability`);
    await manager.stop();
  });
});

describe("Watchkeeper's own alert sources", () => {
  it('an error-issue alert raised through the manager reaches the real AlertManagerService with the external labels added', async () => {
    const clock = new ManualClock(T0);
    const health = new HealthRegistry();
    const am = new AlertManagerService({ dataDir: join(dir, 'am'), logger: pino({ level: 'silent' }), registry: new Registry(), health, externalUrl: 'http://wk.example:9700' });
    const manager = new RuleManager({
      engine: new Engine(),
      queryable: new MemoryStorage(),
      appendable: new MemoryStorage(),
      alertSink: am,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      health,
      externalLabels: { region: 'eu' },
      externalUrl: 'http://wk.example:9700',
      clock: { ...clock, now: () => Date.now() },
    });
    const issueAlert = {
      labels: { alertname: 'NewErrorIssue', project: 'shop', level: 'error', issue_id: '42' },
      annotations: { summary: 'TypeError: x is undefined' },
      generatorURL: 'http://wk.example:9700/api/v1/issues/42',
    };
    expect(manager.raiseExternalAlert(issueAlert)).toEqual([]);
    expect(manager.raiseExternalAlert({ labels: { 'bad-name': 'x' } })[0]).toContain('invalid label name');
    const [view] = am.listAlerts();
    expect(Object.fromEntries(view!.alert.labels.map((l) => [l.name, l.value]))).toEqual({ alertname: 'NewErrorIssue', project: 'shop', level: 'error', issue_id: '42', region: 'eu' });
    expect(view!.alert).toMatchObject({ annotations: { summary: 'TypeError: x is undefined' }, generatorURL: 'http://wk.example:9700/api/v1/issues/42', timeout: true });
    await am.stop();
  });
});
