/** The alerting component's own metrics, created once on the registry it is given. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AlertingMetrics {
  /** Every delivery attempt. */
  readonly notifications: Counter<'receiver' | 'integration'>;
  /** Failed delivery attempts, by reason (clientError, serverError, other). */
  readonly notificationsFailed: Counter<'receiver' | 'integration' | 'reason'>;
  readonly notificationLatency: Histogram<'receiver' | 'integration'>;
  readonly alertsReceived: Counter<'status'>;
  readonly alertsInvalid: Counter;
}

/** `countAlerts` reports alerts by state (active, suppressed) when /metrics is scraped. */
export function createAlertingMetrics(registry: Registry, countAlerts: () => { active: number; suppressed: number }): AlertingMetrics {
  new Gauge({
    name: 'watchkeeper_alertmanager_alerts',
    help: 'Alerts known to the Alertmanager, by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = countAlerts();
      this.set({ state: 'active' }, counts.active);
      this.set({ state: 'suppressed' }, counts.suppressed);
    },
  });
  return {
    notifications: new Counter({
      name: 'watchkeeper_alertmanager_notifications_total',
      help: 'Notification delivery attempts, by receiver and integration.',
      labelNames: ['receiver', 'integration'],
      registers: [registry],
    }),
    notificationsFailed: new Counter({
      name: 'watchkeeper_alertmanager_notifications_failed_total',
      help: 'Failed notification delivery attempts, by receiver, integration and reason.',
      labelNames: ['receiver', 'integration', 'reason'],
      registers: [registry],
    }),
    notificationLatency: new Histogram({
      name: 'watchkeeper_alertmanager_notification_latency_seconds',
      help: 'Latency of notification delivery attempts, by receiver and integration.',
      labelNames: ['receiver', 'integration'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    alertsReceived: new Counter({
      name: 'watchkeeper_alertmanager_alerts_received_total',
      help: 'Alerts received (API and in-process sources), by status.',
      labelNames: ['status'],
      registers: [registry],
    }),
    alertsInvalid: new Counter({
      name: 'watchkeeper_alertmanager_alerts_invalid_total',
      help: 'Alerts rejected as invalid.',
      registers: [registry],
    }),
  };
}
