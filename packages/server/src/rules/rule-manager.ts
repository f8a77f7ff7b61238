/**
 * The rule manager: owns the rule groups, applies new rule configurations (unchanged groups keep
 * running, changed ones take over their alerts, removed ones mark their series stale), restores
 * alert state once after start, and is the entry point for alerts from Watchkeeper's own sources.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Engine } from '../promql/index.js';
import type { HealthRegistry } from '../selfobs/health.js';
import type { Appendable, Queryable } from '../storage/interfaces.js';
import type { OutgoingAlert } from './alerting-rule.js';
import type { RuleGroupSpec } from './rule-file.js';
import { loadRuleFiles } from './rule-files.js';
import { RuleGroup, type AlertSink, type GroupContext, type RuleClock } from './rule-group.js';
import { createRuleMetrics, forgetGroupMetrics, type RuleMetrics } from './rule-metrics.js';
import { engineRuleQuery } from './rule-query.js';

export interface RuleManagerOptions {
  readonly engine: Engine;
  /** Where rules read (the TSDB). */
  readonly queryable: Queryable;
  /** Where recording-rule results, ALERTS and ALERTS_FOR_STATE are written (the TSDB). */
  readonly appendable: Appendable;
  /** The in-process Alertmanager (AlertManagerService). */
  readonly alertSink: AlertSink;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  /** global.external_labels: available to templates and added to every alert sent. */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** Watchkeeper's external URL, without a trailing slash (generator URLs, `$externalURL`). */
  readonly externalUrl: string;
  readonly clock?: RuleClock;
  /** Default 1m, as Prometheus's --rules.alert.resend-delay. */
  readonly resendDelayMs?: number;
  /** Default 1h, as --rules.alert.for-outage-tolerance. */
  readonly outageToleranceMs?: number;
  /** Default 10m, as --rules.alert.for-grace-period. */
  readonly gracePeriodMs?: number;
}

/** An alert from one of Watchkeeper's own sources (error issues, checks, SLOs). */
export interface ExternalAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Unix ms; omitted: Alertmanager's resolve_timeout after now. */
  readonly endsAt?: number;
  readonly generatorURL?: string;
}

const realClock: RuleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class RuleManager {
  private readonly ctx: GroupContext;
  private readonly metrics: RuleMetrics;
  private groupsByKey = new Map<string, RuleGroup>();
  private started = false;
  private restoreDone = false;
  private updating: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RuleManagerOptions) {
    this.metrics = createRuleMetrics(opts.registry);
    this.ctx = {
      query: engineRuleQuery(opts.engine, opts.queryable),
      queryable: opts.queryable,
      appendable: opts.appendable,
      sink: opts.alertSink,
      metrics: this.metrics,
      logger: opts.logger.child({ component: 'rules' }),
      clock: opts.clock ?? realClock,
      externalLabels: opts.externalLabels ?? {},
      externalUrl: opts.externalUrl.replace(/\/$/, ''),
      resendDelayMs: opts.resendDelayMs ?? 60_000,
      outageToleranceMs: opts.outageToleranceMs ?? 3600_000,
      gracePeriodMs: opts.gracePeriodMs ?? 600_000,
    };
    opts.health.register('rules', () => ({ status: 'ok', details: { groups: this.groupsByKey.size, failing: this.failingRules() } }));
  }

  /**
   * Loads `ruleFiles` (globs relative to `configDir`) and applies them. Returns the problems found;
   * when there are any nothing changes and the running rules keep running.
   */
  applyConfig(ruleFiles: readonly string[], configDir: string, evaluationIntervalMs: number): Promise<string[]> {
    return this.serially(async () => {
      const loaded = await loadRuleFiles(ruleFiles, configDir, evaluationIntervalMs);
      if (loaded.errors.length > 0) return loaded.errors;
      await this.replaceGroups(loaded.groups);
      return [];
    });
  }

  /** Replaces the rule groups with already validated ones (from loadRuleFiles). */
  update(specs: readonly RuleGroupSpec[]): Promise<void> {
    return this.serially(() => this.replaceGroups(specs));
  }

  /** Runs configuration changes one at a time, in call order. */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = this.updating.then(change);
    this.updating = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async replaceGroups(specs: readonly RuleGroupSpec[]): Promise<void> {
    const next = new Map<string, RuleGroup>();
    for (const spec of specs) {
      const key = `${spec.file};${spec.name}`;
      const old = this.groupsByKey.get(key);
      if (old && old.sameAs(spec)) {
        next.set(key, old);
        continue;
      }
      const group = new RuleGroup(spec, this.ctx);
      if (old) {
        await old.stop();
        group.copyStateFrom(old);
      } else if (!this.restoreDone) group.markForRestore();
      next.set(key, group);
    }
    this.restoreDone = true;
    for (const [key, old] of this.groupsByKey) {
      if (next.has(key)) continue;
      await old.stopAndMakeStale();
      forgetGroupMetrics(this.metrics, key);
    }
    const previous = new Set(this.groupsByKey.values());
    this.groupsByKey = next;
    if (this.started) for (const group of next.values()) if (!previous.has(group)) group.start();
  }

  /** Starts evaluating every group at its interval. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const group of this.groupsByKey.values()) group.start();
  }

  /** Stops every group (no staleness markers, so alert state is restored after a restart). */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.groupsByKey.values()].map((g) => g.stop()));
  }

  /** The groups in Prometheus's API order: by file, then by name. */
  groups(): RuleGroup[] {
    return [...this.groupsByKey.values()].sort((a, b) => (a.spec.file !== b.spec.file ? (a.spec.file < b.spec.file ? -1 : 1) : a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0));
  }

  /**
   * Sends an alert from one of Watchkeeper's own sources into the same pipeline as rule alerts
   * (external labels added). Returns Alertmanager's complaints about it, if any.
   */
  raiseExternalAlert(alert: ExternalAlert): string[] {
    const now = this.ctx.clock.now();
    const outgoing: OutgoingAlert = {
      labels: { ...this.ctx.externalLabels, ...alert.labels },
      annotations: { ...(alert.annotations ?? {}) },
      startsAt: now,
      endsAt: alert.endsAt ?? 0,
      generatorURL: alert.generatorURL ?? '',
    };
    const { accepted, errors } = this.ctx.sink.pushAlerts([outgoing]);
    this.metrics.notificationsSent.inc(accepted);
    this.metrics.notificationsDropped.inc(errors.length);
    return errors;
  }

  private failingRules(): number {
    let n = 0;
    for (const g of this.groupsByKey.values()) for (const r of g.rules) if (r.status.health === 'err') n++;
    return n;
  }
}
