/**
 * The dispatcher: routes every alert into aggregation groups (one per route and group-label set) and
 * flushes each group on Alertmanager's schedule: first after group_wait (at once if the alert is
 * older than that), then every group_interval. A flush hands a snapshot to the notification pipeline;
 * once it succeeds, resolved alerts that were not updated meanwhile leave the group, and an empty
 * group is dropped. Repeat intervals and deduplication live in the pipeline (notification log).
 */
import type { Logger } from 'pino';
import { labelsKey, type Labels } from '../model/labels.js';
import { compareAlerts, formatLabelSet, isResolvedAt, type Alert } from './alert.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Route } from './route.js';

/** What a flush hands to the notification pipeline. */
export interface GroupFlush {
  readonly route: Route;
  /** Alertmanager's group key: `routeKey:{groupLabels}`. */
  readonly groupKey: string;
  readonly groupLabels: Labels;
  /** Sorted as Alertmanager sorts them; firing alerts carry endsAt 0. */
  readonly alerts: readonly Alert[];
  /** The flush time, Unix ms. */
  readonly now: number;
}

/** Sends a flush; resolves true when every integration succeeded (or had nothing to do). */
export type FlushHandler = (flush: GroupFlush) => Promise<boolean>;

/** A read-only view of a group, for the API. */
export interface GroupView {
  readonly route: Route;
  readonly groupKey: string;
  readonly labels: Labels;
  readonly alerts: readonly Alert[];
}

class AggregationGroup {
  readonly alerts = new Map<string, Alert>();
  hasFlushed = false;
  timer: TimerHandle | null = null;
  /** The flush chain: flushes of one group never overlap. */
  running: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly route: Route,
    readonly labels: Labels,
    readonly key: string,
  ) {}
}

export interface DispatcherOptions {
  readonly route: Route;
  readonly clock: Clock;
  readonly flush: FlushHandler;
  readonly logger: Logger;
}

export class Dispatcher {
  private readonly groups = new Map<string, AggregationGroup>();
  private stopped = false;

  constructor(private readonly opts: DispatcherOptions) {}

  /** Routes an alert (new, updated or resent) into its groups. */
  process(alert: Alert): void {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    for (const route of this.opts.route.match(alert.labels)) {
      const labels = route.groupLabels(alert.labels);
      const id = `${route.id}\xff${labelsKey(labels)}`;
      let group = this.groups.get(id);
      if (!group) {
        group = new AggregationGroup(id, route, labels, `${route.key}:${formatLabelSet(labels)}`);
        this.groups.set(id, group);
        this.schedule(group, route.opts.groupWaitMs);
      }
      group.alerts.set(alert.fingerprint, alert);
      // An alert older than group_wait needs no more waiting (e.g. after a restart or reload).
      if (!group.hasFlushed && alert.startsAt + route.opts.groupWaitMs <= now) this.schedule(group, 0);
    }
  }

  private schedule(group: AggregationGroup, delayMs: number): void {
    if (group.timer) this.opts.clock.clearTimeout(group.timer);
    group.timer = this.opts.clock.setTimeout(() => this.onTimer(group), delayMs);
  }

  private onTimer(group: AggregationGroup): void {
    group.timer = null;
    if (this.stopped) return;
    const now = this.opts.clock.now();
    this.schedule(group, group.route.opts.groupIntervalMs);
    group.hasFlushed = true;
    group.running = group.running.then(() => this.flush(group, now));
  }

  private async flush(group: AggregationGroup, now: number): Promise<void> {
    if (group.alerts.size === 0) return this.dropIfEmpty(group);
    const snapshot = [...group.alerts.values()].map((a) => (isResolvedAt(a, now) ? a : { ...a, endsAt: 0 })).sort(compareAlerts);
    let ok = false;
    try {
      ok = await this.opts.flush({ route: group.route, groupKey: group.key, groupLabels: group.labels, alerts: snapshot, now });
    } catch (err) {
      this.opts.logger.error({ err, group_key: group.key }, 'notification pipeline failed');
    }
    if (!ok) return;
    for (const a of snapshot) {
      if (a.endsAt === 0) continue;
      // Keep an alert that came back (was updated) while the notification was in flight.
      if (group.alerts.get(a.fingerprint)?.updatedAt === a.updatedAt) group.alerts.delete(a.fingerprint);
    }
    this.dropIfEmpty(group);
  }

  private dropIfEmpty(group: AggregationGroup): void {
    if (group.alerts.size > 0 || this.groups.get(group.id) !== group) return;
    if (group.timer) this.opts.clock.clearTimeout(group.timer);
    group.timer = null;
    this.groups.delete(group.id);
  }

  /** The current groups, for the API. */
  groupViews(): GroupView[] {
    return [...this.groups.values()].map((g) => ({ route: g.route, groupKey: g.key, labels: g.labels, alerts: [...g.alerts.values()] }));
  }

  /** Resolves when no flush is in flight (flushes started meanwhile are awaited too). */
  async idle(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const chains = new Set([...this.groups.values()].map((g) => g.running));
      await Promise.all(chains);
      if ([...this.groups.values()].every((g) => chains.has(g.running))) return;
    }
  }

  /** Stops scheduling; resolves when in-flight flushes have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const g of this.groups.values()) {
      if (g.timer) this.opts.clock.clearTimeout(g.timer);
      g.timer = null;
    }
    await Promise.all([...this.groups.values()].map((g) => g.running));
  }
}
