/**
 * Watchkeeper's Alertmanager: the entry point for alerts from every source (the API v2, rule
 * evaluation, error issues, checks, SLO burn rates: all call pushAlerts in-process), and the owner of
 * the alert store, silences, notification log, dispatcher and notifiers. State lives under
 * `<dataDir>/alerting/`. A new configuration rebuilds routing and re-routes every known alert, as
 * Alertmanager does on reload; the notification log keeps that from sending duplicates.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Labels } from '../model/labels.js';
import type { HealthRegistry } from '../selfobs/health.js';
import { alertmanagerFunctions, TemplateSet } from '../template/index.js';
import { acceptAlert, isResolvedAt, type Alert, type PostableAlert } from './alert.js';
import { AlertStore } from './alert-store.js';
import { createAlertingMetrics, type AlertingMetrics } from './alerting-metrics.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { buildAmConfig, type AmConfig } from './config/am-config.js';
import type { IntegrationConfig } from './config/receivers-config.js';
import { Dispatcher, type GroupView } from './dispatcher.js';
import { Inhibitor } from './inhibitor.js';
import { NotificationLog } from './notification-log.js';
import { NotificationPipeline, type RetryPolicy } from './notification-pipeline.js';
import { DEFAULT_TEMPLATES } from './notifiers/default-templates.js';
import { EmailNotifier } from './notifiers/email.js';
import type { Notifier } from './notifiers/notifier.js';
import { PagerdutyNotifier } from './notifiers/pagerduty.js';
import { SlackNotifier } from './notifiers/slack.js';
import { WebhookNotifier } from './notifiers/webhook.js';
import { buildRouteTree, type Route } from './route.js';
import { SilenceStore } from './silences.js';

export interface AlertManagerServiceOptions {
  /** Watchkeeper's data directory; state goes to `<dataDir>/alerting/`. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  /** The URL receivers see as externalURL (links back to Watchkeeper). */
  readonly externalUrl: string;
  readonly clock?: Clock;
  readonly retry?: Partial<RetryPolicy>;
  /** How often resolved alerts, expired silences and old log entries are dropped (default 15m). */
  readonly maintenanceIntervalMs?: number;
  /** How long expired silences are kept (default 120h, as Alertmanager's --data.retention). */
  readonly retentionMs?: number;
}

/** An alert with what the API reports about it. */
export interface AlertView {
  readonly alert: Alert;
  readonly state: 'active' | 'suppressed';
  readonly silencedBy: readonly string[];
  readonly inhibitedBy: readonly string[];
  readonly receivers: readonly string[];
}

/** Used until a configuration is applied: every alert is kept and reaches a receiver with no integrations. */
const EMPTY_CONFIG = buildAmConfig({ route: { receiver: 'null' }, receivers: [{ name: 'null' }] }, '.');

const DEFAULT_RETRY: RetryPolicy = { initialBackoffMs: 1000, maxBackoffMs: 60_000, maxAttempts: 10 };

function createNotifier(c: IntegrationConfig): Notifier {
  switch (c.kind) {
    case 'webhook':
      return new WebhookNotifier(c);
    case 'slack':
      return new SlackNotifier(c);
    case 'pagerduty':
      return new PagerdutyNotifier(c);
    case 'email':
      return new EmailNotifier(c);
  }
}

/** Builds the template set of a configuration: the defaults, then the user's template files (checked at load). */
export function buildTemplates(config: AmConfig, now: () => number): TemplateSet {
  const set = new TemplateSet(alertmanagerFunctions(now));
  set.parse('default.tmpl', DEFAULT_TEMPLATES);
  for (const file of config.templateFiles) set.parse(file.path, file.text);
  return set;
}

export class AlertManagerService {
  readonly silences: SilenceStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly store: AlertStore;
  private readonly nflog: NotificationLog;
  private readonly metrics: AlertingMetrics;
  private readonly startedAt: number;
  private config: AmConfig = EMPTY_CONFIG;
  private route: Route = buildRouteTree(EMPTY_CONFIG.route);
  private inhibitor = new Inhibitor([]);
  private pipeline: NotificationPipeline | null = null;
  private dispatcher: Dispatcher | null = null;
  private maintenanceTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly opts: AlertManagerServiceOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger.child({ component: 'alertmanager' });
    const dir = join(opts.dataDir, 'alerting');
    this.silences = new SilenceStore({ file: join(dir, 'silences.json'), clock: this.clock, retentionMs: opts.retentionMs ?? 120 * 3600_000 });
    this.nflog = new NotificationLog(join(dir, 'notification-log.json'), this.clock);
    this.store = new AlertStore({
      file: join(dir, 'alerts.json'),
      clock: this.clock,
      persistDelayMs: 1000,
      onPersistError: (err) => this.logger.error({ err }, 'cannot write the alert state; retrying on the next change'),
    });
    this.metrics = createAlertingMetrics(opts.registry, () => this.countAlerts());
    this.startedAt = this.clock.now();
    opts.health.register('alertmanager', () => ({
      status: this.stopped ? 'stopping' : 'ok',
      details: { alerts: this.store.size, groups: this.dispatcher?.groupViews().length ?? 0 },
    }));
    this.install(EMPTY_CONFIG);
    this.scheduleMaintenance();
  }

  /**
   * Applies an Alertmanager configuration (null: none configured). As Alertmanager does on reload, the
   * old dispatcher stops first (in-flight deliveries finish their current attempt, so nothing is sent
   * twice), then every known alert is routed anew; the notification log suppresses repeats.
   */
  async applyConfig(config: AmConfig | null): Promise<void> {
    const previous = this.dispatcher;
    this.pipeline?.abort();
    await previous?.stop();
    if (this.stopped) return;
    this.install(config ?? EMPTY_CONFIG);
  }

  private install(next: AmConfig): void {
    const templates = buildTemplates(next, () => this.clock.now());
    const receivers = new Map(next.receivers.map((r) => [r.name, r.integrations.map(createNotifier)]));
    this.config = next;
    this.route = buildRouteTree(next.route);
    this.inhibitor = new Inhibitor(next.inhibitRules);
    this.pipeline = new NotificationPipeline({
      receivers,
      inhibitor: this.inhibitor,
      silences: this.silences,
      alerts: this.store,
      timeIntervals: next.timeIntervals,
      nflog: this.nflog,
      templates,
      externalUrl: this.opts.externalUrl,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      retry: { ...DEFAULT_RETRY, ...this.opts.retry },
    });
    this.dispatcher = new Dispatcher({ route: this.route, clock: this.clock, flush: this.pipeline.flush, logger: this.logger });
    for (const a of this.store.values()) this.dispatcher.process(a);
  }

  /**
   * Accepts alerts from any source (API, rule evaluation, Watchkeeper's own sources). Invalid alerts are
   * skipped and described in `errors`; valid ones are stored and routed.
   */
  pushAlerts(alerts: readonly PostableAlert[]): { accepted: number; errors: string[] } {
    const now = this.clock.now();
    const errors: string[] = [];
    let accepted = 0;
    for (const p of alerts) {
      const a = acceptAlert(p, now, this.config.global.resolveTimeoutMs);
      if (typeof a === 'string') {
        errors.push(a);
        this.metrics.alertsInvalid.inc();
        continue;
      }
      this.metrics.alertsReceived.inc({ status: isResolvedAt(a, now) ? 'resolved' : 'firing' });
      const stored = this.store.put(a);
      this.dispatcher?.process(stored);
      accepted++;
    }
    return { accepted, errors };
  }

  /** Every known alert with its silencing, inhibition and receivers. */
  listAlerts(): AlertView[] {
    const view = this.viewer();
    return [...this.store.values()].map(view);
  }

  /** The dispatcher's aggregation groups. */
  alertGroups(): { group: GroupView; alerts: AlertView[] }[] {
    const view = this.viewer();
    return (this.dispatcher?.groupViews() ?? []).map((g) => ({ group: g, alerts: g.alerts.map((a) => view(this.store.get(a.fingerprint) ?? a)) }));
  }

  /** Builds views of alerts as of now (inhibition sources are found once per viewer). */
  private viewer(): (a: Alert) => AlertView {
    const now = this.clock.now();
    const inhibitedBy = this.inhibitor.checker(this.store.values(), now);
    return (a) => {
      const silencedBy = this.silences.mutedBy(a.labels, now);
      const inhibitor = inhibitedBy(a.labels);
      const suppressed = silencedBy.length > 0 || inhibitor !== null;
      return { alert: a, state: suppressed ? 'suppressed' : 'active', silencedBy, inhibitedBy: inhibitor === null ? [] : [inhibitor], receivers: this.receiversFor(a.labels) };
    };
  }

  /** The receivers an alert with these labels reaches, in routing order, without repeats. */
  receiversFor(labels: Labels): string[] {
    return [...new Set(this.route.match(labels).map((r) => r.opts.receiver))];
  }

  /** The service's clock, Unix ms. */
  now(): number {
    return this.clock.now();
  }

  receiverNames(): string[] {
    return this.config.receivers.map((r) => r.name);
  }

  /** The running configuration's text and the service's start time (Unix ms). */
  status(): { original: string; startedAt: number } {
    return { original: this.config.original, startedAt: this.startedAt };
  }

  private countAlerts(): { active: number; suppressed: number } {
    const now = this.clock.now();
    const view = this.viewer();
    let active = 0;
    let suppressed = 0;
    for (const a of this.store.values()) {
      if (isResolvedAt(a, now)) continue;
      if (view(a).state === 'suppressed') suppressed++;
      else active++;
    }
    return { active, suppressed };
  }

  private scheduleMaintenance(): void {
    this.maintenanceTimer = this.clock.setTimeout(() => {
      this.store.gc();
      this.silences.gc();
      this.nflog.gc().catch((err: unknown) => this.logger.error({ err }, 'cannot write the notification log'));
      if (!this.stopped) this.scheduleMaintenance();
    }, this.opts.maintenanceIntervalMs ?? 15 * 60_000);
  }

  /** Resolves when no notification is in flight. */
  async settled(): Promise<void> {
    await this.dispatcher?.idle();
  }

  /** Stops notifying (in-flight deliveries make no further retries) and writes the alert state. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.maintenanceTimer) this.clock.clearTimeout(this.maintenanceTimer);
    this.pipeline?.abort();
    await this.dispatcher?.stop();
    await this.store.persist();
    this.opts.health.unregister('alertmanager');
  }
}
