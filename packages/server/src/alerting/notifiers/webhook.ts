/** The webhook notifier: Alertmanager's webhook payload, version 4, field for field. */
import { labelsToRecord } from '../../model/labels.js';
import type { WebhookConfig } from '../config/receivers-config.js';
import { alertStatus, formatGoJsonTime, postBody, templateData, type Notification, type Notifier } from './notifier.js';

/** Builds the payload exactly as Alertmanager serialises its webhook Message (same keys, same order). */
export function webhookPayload(n: Notification, maxAlerts: number): Record<string, unknown> {
  const data = templateData(n);
  const shown = maxAlerts > 0 ? n.alerts.slice(0, maxAlerts) : n.alerts;
  return {
    receiver: data.Receiver,
    status: data.Status,
    alerts: shown.map((a) => ({
      status: alertStatus(a),
      labels: labelsToRecord(a.labels),
      annotations: { ...a.annotations },
      startsAt: formatGoJsonTime(a.startsAt),
      endsAt: formatGoJsonTime(a.endsAt),
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
    })),
    groupLabels: data.GroupLabels.toRecord(),
    commonLabels: data.CommonLabels.toRecord(),
    commonAnnotations: data.CommonAnnotations.toRecord(),
    externalURL: data.ExternalURL,
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.alerts.length - shown.length,
  };
}

export class WebhookNotifier implements Notifier {
  readonly integration = 'webhook';
  readonly sendResolved: boolean;

  constructor(private readonly conf: WebhookConfig) {
    this.sendResolved = conf.sendResolved;
  }

  async notify(n: Notification): Promise<void> {
    await postBody(this.conf.url, JSON.stringify(webhookPayload(n, this.conf.maxAlerts)), 'application/json', this.conf.httpConfig);
  }
}
