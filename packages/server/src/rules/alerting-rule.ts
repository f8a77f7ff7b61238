/**
 * An alerting rule with Prometheus's semantics (rules/alerting.go): each result sample is an alert
 * identified by its labels; new alerts are pending and fire once active for `for`; an alert whose
 * sample disappears keeps firing for `keep_firing_for`, then is resolved and kept for 15 minutes so
 * Alertmanager hears of the resolution; ALERTS and ALERTS_FOR_STATE samples describe each active alert.
 */
import { labelsKey, labelsToRecord, METRIC_NAME, setLabel, type Labels } from '../model/labels.js';
import { KV, type TemplateSample } from '../template/index.js';
import type { RuleSpec } from './rule-file.js';
import type { RuleQuery, RuleSample } from './rule-query.js';
import { RuleStatus } from './rule-status.js';
import { RuleTemplate } from './rule-templates.js';

export type AlertState = 'inactive' | 'pending' | 'firing';

/** How long a resolved alert is kept and re-sent (Prometheus's resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** One alert of a rule. Times are Unix ms; 0 means unset. */
export interface RuleAlert {
  labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  activeAt: number;
  firedAt: number;
  resolvedAt: number;
  lastSentAt: number;
  validUntil: number;
  keepFiringSince: number;
}

/** An alert as handed to Alertmanager (the shape of its API v2 postable alert). Times are Unix ms. */
export interface OutgoingAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
}

/** Reads the last ALERTS_FOR_STATE sample of an alert: its time and value (the active-since seconds), or null. */
export type ForStateLookup = (labels: Labels) => Promise<{ t: number; v: number } | null>;

export class AlertingRule {
  readonly kind = 'alerting' as const;
  readonly status = new RuleStatus();
  /** Active alerts by label key; resolved alerts stay here for RESOLVED_RETENTION_MS. */
  readonly active = new Map<string, RuleAlert>();
  /** False after a restart until alert state has been restored from ALERTS_FOR_STATE. */
  restored = true;
  private readonly labelTemplates: [string, RuleTemplate][];
  /** Prometheus's link to the expression in its table view, the same for every alert of the rule. */
  private readonly generatorUrl: string;
  private readonly annotationTemplates: [string, RuleTemplate][];

  constructor(
    readonly spec: RuleSpec,
    private readonly externalLabels: Readonly<Record<string, string>>,
    private readonly externalUrl: string,
  ) {
    this.labelTemplates = Object.entries(spec.labels).map(([k, v]) => [k, new RuleTemplate(spec.name, v, externalUrl)]);
    this.annotationTemplates = Object.entries(spec.annotations).map(([k, v]) => [k, new RuleTemplate(spec.name, v, externalUrl)]);
    this.generatorUrl = `${externalUrl}/graph?${new URLSearchParams({ 'g0.expr': spec.expr }).toString()}&g0.tab=1`;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The rule's state: the most severe state among its alerts. */
  state(): AlertState {
    let state: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') state = 'pending';
    }
    return state;
  }

  /**
   * Evaluates at `ts` (querying at `queryTs`, earlier by the group's query offset) and returns the
   * ALERTS and ALERTS_FOR_STATE samples to write. Throws on a query error, duplicate alert label sets,
   * or more than `limit` alerts (0: none), as Prometheus does.
   */
  async eval(ts: number, queryTs: number, query: RuleQuery, limit: number): Promise<RuleSample[]> {
    const vector = await query(this.spec.expr, queryTs);
    const templateQuery = async (expr: string): Promise<TemplateSample[]> =>
      (await query(expr, queryTs)).map((s) => ({ Labels: KV.of(labelsToRecord(s.labels)), Value: s.v }));
    const labelTemplates = this.labelTemplates.map(([name, t]) => [name, t, t.bind(templateQuery)] as const);
    const annotationTemplates = this.annotationTemplates.map(([name, t]) => [name, t, t.bind(templateQuery)] as const);
    const templated = [...labelTemplates, ...annotationTemplates].some(([, t]) => !t.isStatic);
    const fresh = new Map<string, RuleAlert>();
    for (const sample of vector) {
      const data = templated ? { labels: labelsToRecord(sample.labels), externalLabels: this.externalLabels, externalUrl: this.externalUrl, value: sample.v } : NO_DATA;
      let labels: Labels = setLabel(sample.labels, METRIC_NAME, '');
      for (const [name, template, expand] of labelTemplates) labels = setLabel(labels, name, template.isStatic ? template.text : (await expand(data)).text);
      labels = setLabel(labels, 'alertname', this.spec.name);
      const annotations: Record<string, string> = {};
      for (const [name, template, expand] of annotationTemplates) annotations[name] = template.isStatic ? template.text : (await expand(data)).text;
      const key = labelsKey(labels);
      if (fresh.has(key)) throw new Error('vector contains metrics with the same labelset after applying alert labels');
      fresh.set(key, newAlert(labels, annotations, sample.v, ts));
    }
    for (const [key, alert] of fresh) {
      const existing = this.active.get(key);
      if (existing && existing.state !== 'inactive') {
        existing.value = alert.value;
        existing.annotations = alert.annotations;
      } else {
        this.active.set(key, alert);
      }
    }
    const out: RuleSample[] = [];
    let activeCount = 0;
    for (const [key, alert] of this.active) {
      if (!fresh.has(key)) {
        let keepFiring = false;
        if (alert.state === 'firing' && this.spec.keepFiringForMs > 0) {
          if (alert.keepFiringSince === 0) alert.keepFiringSince = ts;
          keepFiring = ts - alert.keepFiringSince < this.spec.keepFiringForMs;
        }
        if (alert.state === 'pending' || (alert.resolvedAt !== 0 && ts - alert.resolvedAt > RESOLVED_RETENTION_MS)) this.active.delete(key);
        if (alert.state !== 'inactive' && !keepFiring) {
          alert.state = 'inactive';
          alert.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else {
        alert.keepFiringSince = 0;
      }
      activeCount++;
      if (alert.state === 'pending' && ts - alert.activeAt >= this.spec.forMs) {
        alert.state = 'firing';
        alert.firedAt = ts;
      }
      if (this.restored) {
        out.push({ labels: alertsSeriesLabels(alert), t: queryTs, v: 1 });
        out.push({ labels: setLabel(alert.labels, METRIC_NAME, 'ALERTS_FOR_STATE'), t: queryTs, v: Math.floor(alert.activeAt / 1000) });
      }
    }
    if (limit > 0 && activeCount > limit) {
      this.active.clear();
      throw new Error(`exceeded limit of ${limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /**
   * Alerts due to be sent at `ts`: firing ones every `resendDelayMs`, resolved ones at once and then
   * every `resendDelayMs` while retained; each valid for 4 × max(resend delay, group interval).
   */
  alertsToSend(ts: number, resendDelayMs: number, intervalMs: number): OutgoingAlert[] {
    const out: OutgoingAlert[] = [];
    for (const alert of this.active.values()) {
      if (alert.state === 'pending') continue;
      const due = alert.resolvedAt > alert.lastSentAt || alert.lastSentAt + resendDelayMs < ts;
      if (!due) continue;
      alert.lastSentAt = ts;
      alert.validUntil = ts + 4 * Math.max(resendDelayMs, intervalMs);
      out.push({
        labels: labelsToRecord(alert.labels),
        annotations: { ...alert.annotations },
        startsAt: alert.firedAt,
        endsAt: alert.resolvedAt !== 0 ? alert.resolvedAt : alert.validUntil,
        generatorURL: this.generatorUrl,
      });
    }
    return out;
  }

  /**
   * Restores when each active alert became active from its last ALERTS_FOR_STATE sample before the
   * restart (Prometheus's RestoreForState). `ts` is the evaluation time. An alert that was firing
   * keeps its original active time and so fires again at the next evaluation; an alert that was
   * pending continues its `for` wait, the downtime added, and gets at least `gracePeriodMs` to fire.
   * Prometheus skips rules whose `for` is shorter than the grace period; Watchkeeper still restores
   * their firing alerts so a restart never re-pends an alert that had fired.
   */
  async restoreForState(ts: number, lookup: ForStateLookup, gracePeriodMs: number): Promise<void> {
    const holdMs = this.spec.forMs;
    for (const alert of this.active.values()) {
      if (holdMs === 0) break;
      if (alert.state === 'inactive') continue;
      const last = await lookup(setLabel(alert.labels, METRIC_NAME, 'ALERTS_FOR_STATE'));
      if (last === null) continue;
      const downAt = Math.floor(last.t / 1000) * 1000;
      let restoredActiveAt = last.v * 1000;
      const remainingMs = holdMs - (downAt - restoredActiveAt);
      if (remainingMs > 0 && holdMs < gracePeriodMs) continue;
      if (remainingMs > 0 && remainingMs < gracePeriodMs) restoredActiveAt = ts + gracePeriodMs - holdMs;
      else if (remainingMs > 0) restoredActiveAt += ts - downAt;
      alert.activeAt = restoredActiveAt;
    }
    this.restored = true;
  }

  /** Takes over the alerts of the same rule from before a reload. */
  copyStateFrom(previous: AlertingRule): void {
    for (const [key, alert] of previous.active) this.active.set(key, alert);
    this.restored = previous.restored;
  }
}

/** Template data for rules whose templates are all static (never read). */
const NO_DATA = { labels: {}, externalLabels: {}, externalUrl: '', value: 0 };

function newAlert(labels: Labels, annotations: Record<string, string>, value: number, ts: number): RuleAlert {
  return { labels, annotations, state: 'pending', value, activeAt: ts, firedAt: 0, resolvedAt: 0, lastSentAt: 0, validUntil: 0, keepFiringSince: 0 };
}

function alertsSeriesLabels(alert: RuleAlert): Labels {
  return setLabel(setLabel(alert.labels, METRIC_NAME, 'ALERTS'), 'alertstate', alert.state);
}

