/**
 * A rule group: its rules evaluated in order at the group's interval, at timestamps aligned as
 * Prometheus aligns them (a per-group offset from the group's hash, so groups spread over the
 * interval and keep their phase across restarts). Results are written through the Appendable with
 * staleness markers for series a rule stopped producing; alerts go to the alert sink.
 */
import { fnv1a64 } from '../model/fnv.js';
import type { Logger } from 'pino';
import { labelsKey, type Labels } from '../model/labels.js';
import { STALE_NAN } from '../model/samples.js';
import { AppendError, type Appendable, type Queryable } from '../storage/interfaces.js';
import { AlertingRule, type ForStateLookup, type OutgoingAlert } from './alerting-rule.js';
import { RecordingRule } from './recording-rule.js';
import type { RuleGroupSpec } from './rule-file.js';
import type { RuleMetrics } from './rule-metrics.js';
import type { RuleQuery, RuleSample } from './rule-query.js';

/** Where alerts go: the in-process Alertmanager (AlertManagerService.pushAlerts has this shape). */
export interface AlertSink {
  pushAlerts(alerts: readonly OutgoingAlert[]): { accepted: number; errors: string[] };
}

/** Timers for the evaluation loop, injectable so tests control time (alerting's Clock fits). */
export interface RuleClock {
  /** Unix ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: never): void;
}

export type Rule = AlertingRule | RecordingRule;

/** What every group of a manager shares. */
export interface GroupContext {
  readonly query: RuleQuery;
  readonly queryable: Queryable;
  readonly appendable: Appendable;
  readonly sink: AlertSink;
  readonly metrics: RuleMetrics;
  readonly logger: Logger;
  readonly clock: RuleClock;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalUrl: string;
  /** Minimum time between re-sends of a firing alert, ms (Prometheus's --rules.alert.resend-delay). */
  readonly resendDelayMs: number;
  /** How long an outage may last for alert state to be restored, ms (--rules.alert.for-outage-tolerance). */
  readonly outageToleranceMs: number;
  /** Least time a restored pending alert still waits before firing, ms (--rules.alert.for-grace-period). */
  readonly gracePeriodMs: number;
}

/** FNV-1a 64 of the group's name and file: the basis of its evaluation offset. */
function groupHash(name: string, file: string): bigint {
  return fnv1a64(Buffer.from(`${name}\xff${file}`, 'utf8'));
}

/** The latest evaluation time at or before `nowMs` for a group (Prometheus's Group.EvalTimestamp). */
export function alignedEvalTime(nowMs: number, intervalMs: number, name: string, file: string): number {
  const offset = Number(groupHash(name, file) % BigInt(intervalMs));
  const adjusted = nowMs - offset;
  return adjusted - (((adjusted % intervalMs) + intervalMs) % intervalMs) + offset;
}

export class RuleGroup {
  readonly rules: Rule[];
  /** `<file>;<name>`, the rule_group label of the metrics. */
  readonly key: string;
  lastEvaluationMs = 0;
  evaluationSeconds = 0;
  /** True on the first configuration after start: restore alert state after the first evaluation. */
  shouldRestore = false;
  private readonly previousSeries: Map<string, Labels>[];
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly logger: Logger;

  constructor(
    readonly spec: RuleGroupSpec,
    private readonly ctx: GroupContext,
  ) {
    this.key = `${spec.file};${spec.name}`;
    this.logger = ctx.logger.child({ group: spec.name, file: spec.file });
    this.rules = spec.rules.map((r) => (r.kind === 'alerting' ? new AlertingRule(r, ctx.externalLabels, ctx.externalUrl) : new RecordingRule(r)));
    this.previousSeries = this.rules.map(() => new Map());
    ctx.metrics.groupInterval.set({ rule_group: this.key }, spec.intervalMs / 1000);
    ctx.metrics.groupRules.set({ rule_group: this.key }, this.rules.length);
  }

  /** Whether `other` describes the same group with the same rules (a reload keeps it running). */
  sameAs(other: RuleGroupSpec): boolean {
    return JSON.stringify(this.spec) === JSON.stringify(other);
  }

  /** Takes over alerts and written series of rules with the same name from the group it replaces. */
  copyStateFrom(previous: RuleGroup): void {
    const byName = new Map<string, number[]>();
    previous.rules.forEach((r, i) => byName.set(r.name, [...(byName.get(r.name) ?? []), i]));
    this.rules.forEach((rule, i) => {
      const j = byName.get(rule.name)?.shift();
      if (j === undefined) return;
      const old = previous.rules[j]!;
      if (rule instanceof AlertingRule && old instanceof AlertingRule) rule.copyStateFrom(old);
      this.previousSeries[i] = previous.previousSeries[j]!;
    });
    this.lastEvaluationMs = previous.lastEvaluationMs;
    this.evaluationSeconds = previous.evaluationSeconds;
  }

  /** Starts evaluating at the next aligned time after now. */
  start(): void {
    this.stopped = false;
    const { clock } = this.ctx;
    this.schedule(alignedEvalTime(clock.now(), this.spec.intervalMs, this.spec.name, this.spec.file) + this.spec.intervalMs);
  }

  /**
   * Runs the evaluation due at `evalTs`. A timer firing late (a slow evaluation, a suspended process)
   * skips to the latest due time and counts the iterations in between as missed, as Prometheus does.
   */
  private schedule(evalTs: number): void {
    if (this.stopped) return;
    const { clock } = this.ctx;
    const interval = this.spec.intervalMs;
    this.timer = clock.setTimeout(() => {
      this.timer = null;
      let ts = evalTs;
      const missed = Math.floor((clock.now() - ts) / interval);
      if (missed > 0) {
        this.ctx.metrics.iterationsMissed.inc({ rule_group: this.key }, missed);
        this.ctx.metrics.iterationsScheduled.inc({ rule_group: this.key }, missed);
        ts += missed * interval;
      }
      this.running = this.evaluate(ts).then(() => {
        this.running = null;
        this.schedule(ts + interval);
      });
    }, Math.max(0, evalTs - clock.now()));
  }

  /** Stops the loop and waits for a running evaluation. Writes nothing (state survives a restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.ctx.clock.clearTimeout(this.timer as never);
    this.timer = null;
    await this.running;
  }

  /** Stops and marks every series the group wrote as stale (the group was removed). */
  async stopAndMakeStale(): Promise<void> {
    await this.stop();
    const app = this.ctx.appendable.appender();
    const ts = this.ctx.clock.now();
    for (const series of this.previousSeries) for (const labels of series.values()) this.tryAppend(app, labels, ts, STALE_NAN);
    await app.commit();
  }

  /** Evaluates every rule at `ts` (Unix ms), in order, writing results and sending alerts. */
  async evaluate(ts: number): Promise<void> {
    const { metrics } = this.ctx;
    const group = { rule_group: this.key };
    const started = performance.now();
    metrics.iterationsScheduled.inc(group);
    let samples = 0;
    const queryTs = ts - this.spec.queryOffsetMs;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      const ruleStarted = performance.now();
      metrics.evalTotal.inc(group);
      let vector: RuleSample[];
      try {
        vector = rule instanceof AlertingRule ? await rule.eval(ts, queryTs, this.ctx.query, this.spec.limit) : await rule.eval(queryTs, this.ctx.query, this.spec.limit);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const seconds = (performance.now() - ruleStarted) / 1000;
        rule.status.record(ts, seconds, message);
        metrics.evalDuration.observe(seconds);
        metrics.evalFailures.inc(group);
        this.logger.warn({ rule: rule.name, err: message }, 'evaluating rule failed');
        continue;
      }
      samples += vector.length;
      if (rule instanceof AlertingRule) this.send(rule.alertsToSend(ts, this.ctx.resendDelayMs, this.spec.intervalMs));
      await this.write(i, vector, queryTs);
      const seconds = (performance.now() - ruleStarted) / 1000;
      rule.status.record(ts, seconds, null);
      metrics.evalDuration.observe(seconds);
    }
    if (this.shouldRestore) {
      await this.restoreForState(ts);
      this.shouldRestore = false;
    }
    this.evaluationSeconds = (performance.now() - started) / 1000;
    this.lastEvaluationMs = ts;
    metrics.groupDuration.observe(this.evaluationSeconds);
    metrics.groupLastDuration.set(group, this.evaluationSeconds);
    metrics.groupLastEvalTime.set(group, ts / 1000);
    metrics.groupSamples.set(group, samples);
  }

  /** Marks alerting rules unrestored so the first evaluation after start restores their state. */
  markForRestore(): void {
    this.shouldRestore = true;
    for (const rule of this.rules) if (rule instanceof AlertingRule) rule.restored = false;
  }

  private async restoreForState(ts: number): Promise<void> {
    const querier = this.ctx.queryable.querier(ts - this.ctx.outageToleranceMs, ts);
    const lookup: ForStateLookup = async (labels) => {
      const matchers = labels.map((l) => ({ name: l.name, type: '=' as const, value: l.value }));
      const series = await querier.select(matchers, { start: ts - this.ctx.outageToleranceMs, end: ts });
      const exact = series.find((s) => s.labels.length === labels.length);
      if (!exact || exact.timestamps.length === 0) return null;
      const last = exact.timestamps.length - 1;
      const v = exact.values[last]!;
      return Number.isNaN(v) ? null : { t: exact.timestamps[last]!, v };
    };
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      try {
        await rule.restoreForState(ts, lookup, this.ctx.gracePeriodMs);
      } catch (err) {
        rule.restored = true;
        this.logger.error({ rule: rule.name, err }, 'restoring alert state failed');
      }
    }
  }

  private send(alerts: OutgoingAlert[]): void {
    if (alerts.length === 0) return;
    const withExternal = alerts.map((a) => ({ ...a, labels: { ...this.ctx.externalLabels, ...a.labels } }));
    const { accepted, errors } = this.ctx.sink.pushAlerts(withExternal);
    this.ctx.metrics.notificationsSent.inc(accepted);
    if (errors.length > 0) {
      this.ctx.metrics.notificationsDropped.inc(errors.length);
      this.logger.warn({ errors }, 'alerts rejected by the alertmanager');
    }
  }

  private tryAppend(app: ReturnType<Appendable['appender']>, labels: Labels, t: number, v: number): boolean {
    try {
      app.append(0, labels, t, v);
      return true;
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      this.logger.debug({ err: err.message, code: err.code }, 'rule result sample rejected');
      return false;
    }
  }

  private async write(ruleIndex: number, vector: RuleSample[], ts: number): Promise<void> {
    const app = this.ctx.appendable.appender();
    const returned = new Map<string, Labels>();
    for (const s of vector) if (this.tryAppend(app, s.labels, s.t, s.v)) returned.set(labelsKey(s.labels), s.labels);
    for (const [key, labels] of this.previousSeries[ruleIndex]!) if (!returned.has(key)) this.tryAppend(app, labels, ts, STALE_NAN);
    this.previousSeries[ruleIndex] = returned;
    await app.commit();
  }
}
