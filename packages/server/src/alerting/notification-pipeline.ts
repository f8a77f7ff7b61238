/**
 * The notification pipeline a group flush runs through, in Alertmanager's stage order: inhibition,
 * active time intervals, mute time intervals, silences; then, for each integration of the route's
 * receiver, deduplication against the notification log, delivery with bounded exponential backoff,
 * and the log entry that makes the delivery durable.
 */
import type { Logger } from 'pino';
import type { TemplateSet } from '../template/index.js';
import type { AlertStore } from './alert-store.js';
import type { AlertingMetrics } from './alerting-metrics.js';
import type { Clock } from './clock.js';
import type { GroupFlush } from './dispatcher.js';
import type { Inhibitor } from './inhibitor.js';
import type { NotificationLog, NotificationLogEntry, ReceiverKey } from './notification-log.js';
import { NotifyError, type Notifier } from './notifiers/notifier.js';
import type { SilenceStore } from './silences.js';
import { anyIntervalContains, type TimeInterval } from './time-intervals.js';

export interface RetryPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxAttempts: number;
}

export interface PipelineOptions {
  /** Integrations by receiver name. */
  readonly receivers: ReadonlyMap<string, readonly Notifier[]>;
  readonly inhibitor: Inhibitor;
  readonly silences: SilenceStore;
  readonly alerts: AlertStore;
  readonly timeIntervals: ReadonlyMap<string, readonly TimeInterval[]>;
  readonly nflog: NotificationLog;
  readonly templates: TemplateSet;
  readonly externalUrl: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: AlertingMetrics;
  readonly retry: RetryPolicy;
}

function isSubset(sub: ReadonlySet<string>, of: readonly string[]): boolean {
  const set = new Set(of);
  for (const x of sub) if (!set.has(x)) return false;
  return true;
}

/** Alertmanager's DedupStage.needsUpdate. */
export function needsUpdate(entry: NotificationLogEntry | undefined, firing: ReadonlySet<string>, resolved: ReadonlySet<string>, sendResolved: boolean, repeatMs: number, now: number): boolean {
  if (!entry) return firing.size > 0;
  if (!isSubset(firing, entry.firing)) return true;
  // All resolved: notify only if the receiver was told about firing alerts.
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved && !isSubset(resolved, entry.resolved)) return true;
  return entry.timestamp < now - repeatMs;
}

export class NotificationPipeline {
  private aborted = false;
  /** Wakes deliveries sleeping between attempts. */
  private readonly wakers = new Set<() => void>();

  constructor(private readonly opts: PipelineOptions) {}

  /** Makes in-flight deliveries give up after their current attempt (on stop and reload). */
  abort(): void {
    this.aborted = true;
    for (const wake of this.wakers) wake();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.opts.clock.setTimeout(done, ms);
      const clock = this.opts.clock;
      const wakers = this.wakers;
      function done(): void {
        clock.clearTimeout(handle);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });
  }

  /** Runs a flush through the stages; true when nothing failed. */
  readonly flush = async (f: GroupFlush): Promise<boolean> => {
    const o = this.opts;
    const { route } = f;
    const inhibitedBy = o.inhibitor.checker(o.alerts.values(), f.now);
    let alerts = f.alerts.filter((a) => inhibitedBy(a.labels) === null);
    const intervals = (names: readonly string[]) => names.flatMap((n) => o.timeIntervals.get(n) ?? []);
    if (alerts.length > 0 && route.opts.activeTimeIntervals.length > 0 && !anyIntervalContains(intervals(route.opts.activeTimeIntervals), f.now)) {
      o.logger.debug({ group_key: f.groupKey }, 'outside active time intervals; not notifying');
      alerts = [];
    }
    if (alerts.length > 0 && anyIntervalContains(intervals(route.opts.muteTimeIntervals), f.now)) {
      o.logger.debug({ group_key: f.groupKey }, 'inside a mute time interval; not notifying');
      alerts = [];
    }
    alerts = alerts.filter((a) => o.silences.mutedBy(a.labels, f.now).length === 0);
    if (alerts.length === 0) return true;

    const notifiers = o.receivers.get(route.opts.receiver) ?? [];
    const firing = new Set(alerts.filter((a) => a.endsAt === 0).map((a) => a.fingerprint));
    const resolved = new Set(alerts.filter((a) => a.endsAt !== 0).map((a) => a.fingerprint));
    const counters = new Map<string, number>();
    const results = await Promise.all(
      notifiers.map(async (notifier) => {
        const index = counters.get(notifier.integration) ?? 0;
        counters.set(notifier.integration, index + 1);
        const key: ReceiverKey = { receiver: route.opts.receiver, integration: notifier.integration, index };
        const entry = o.nflog.get(f.groupKey, key);
        if (!needsUpdate(entry, firing, resolved, notifier.sendResolved, route.opts.repeatIntervalMs, f.now)) return true;
        // Receivers that do not want resolved notifications get only firing alerts; with none left,
        // the log still records the resolution so the next dedup decision is right.
        const sent = notifier.sendResolved ? alerts : alerts.filter((a) => a.endsAt === 0);
        if (sent.length > 0) {
          const ok = await this.deliver(notifier, key, f, sent);
          if (!ok) return false;
        }
        await o.nflog.log(f.groupKey, key, [...firing], [...resolved], f.now, 2 * route.opts.repeatIntervalMs);
        return true;
      }),
    );
    return results.every(Boolean);
  };

  private async deliver(notifier: Notifier, key: ReceiverKey, f: GroupFlush, alerts: GroupFlush['alerts']): Promise<boolean> {
    const o = this.opts;
    const labels = { receiver: key.receiver, integration: key.integration };
    const deadline = f.now + f.route.opts.groupIntervalMs;
    let backoff = o.retry.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      o.metrics.notifications.inc(labels);
      try {
        await notifier.notify({ groupKey: f.groupKey, receiver: key.receiver, groupLabels: f.groupLabels, alerts, externalUrl: o.externalUrl, templates: o.templates });
        o.metrics.notificationLatency.observe(labels, (performance.now() - started) / 1000);
        return true;
      } catch (err) {
        o.metrics.notificationLatency.observe(labels, (performance.now() - started) / 1000);
        const e = err instanceof NotifyError ? err : new NotifyError((err as Error).message, true, 'other');
        o.metrics.notificationsFailed.inc({ ...labels, reason: e.reason });
        const giveUp = this.aborted || !e.retryable || attempt >= o.retry.maxAttempts || o.clock.now() + backoff > deadline;
        o.logger.warn(
          { receiver: key.receiver, integration: key.integration, group_key: f.groupKey, attempt, reason: e.reason, err: e.message, retrying: !giveUp },
          giveUp ? 'notification failed; giving up until the next group interval' : 'notification attempt failed; retrying',
        );
        if (giveUp) return false;
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, o.retry.maxBackoffMs);
      }
    }
  }
}
