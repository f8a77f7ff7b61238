/**
 * Grouping, repeat, resolution, inhibition, silences, business hours and restarts, driven by a
 * controllable clock; notifications go over HTTP to a real local webhook server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HealthRegistry } from '../selfobs/health.js';
import { ManualClock } from '../../test/support/manual-clock.js';
import { startHttpSink, type HttpSink } from '../../test/support/notification-sinks.js';
import { AlertManagerService } from './alertmanager-service.js';
import { parseAlertmanagerYaml } from './config/am-config.js';

// Monday 23 November 2026, 07:00 UTC = 08:00 in Berlin (CET): one hour before business hours.
const MONDAY_0800_BERLIN = Date.UTC(2026, 10, 23, 7, 0, 0);
const S = 1000;
const M = 60 * S;

let sink: HttpSink;
const dirs: string[] = [];
const services: AlertManagerService[] = [];

beforeAll(async () => {
  sink = await startHttpSink();
});
afterAll(async () => {
  await sink.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  sink.received.length = 0;
});

function config(url: string): string {
  return `
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
  routes:
    - matchers: [team="biz"]
      receiver: biz
      active_time_intervals: [business-hours]
    - matchers: [team="ops"]
      mute_time_intervals: [business-hours]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [job]
time_intervals:
  - name: business-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '18:00'}]
        location: Europe/Berlin
receivers:
  - name: hook
    webhook_configs: [{url: '${url}/hook'}]
  - name: biz
    webhook_configs: [{url: '${url}/biz'}]
`;
}

async function start(clock: ManualClock, dataDir?: string): Promise<{ service: AlertManagerService; dataDir: string }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'wk-am-'));
  if (!dataDir) dirs.push(dir);
  const service = new AlertManagerService({
    dataDir: dir,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    health: new HealthRegistry(),
    externalUrl: 'http://watchkeeper.test',
    clock,
    retry: { initialBackoffMs: 10, maxAttempts: 3 },
  });
  services.push(service);
  await service.applyConfig(parseAlertmanagerYaml(config(sink.url), 'am.yml'));
  return { service, dataDir: dir };
}

interface WebhookBody {
  status: string;
  groupKey: string;
  alerts: { status: string; labels: Record<string, string>; endsAt: string }[];
}

async function step(clock: ManualClock, service: AlertManagerService, ms: number): Promise<WebhookBody[]> {
  const before = sink.received.length;
  clock.advance(ms);
  await service.settled();
  return sink.received.slice(before).map((r) => r.body as WebhookBody);
}

const firing = (clock: ManualClock, labels: Record<string, string>, endsInMs = 10 * M) => ({ labels, startsAt: clock.now(), endsAt: clock.now() + endsInMs });

describe('AlertManagerService with a controllable clock', () => {
  it('waits group_wait to batch, sends new alerts after group_interval, repeats after repeat_interval, and sends resolutions', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const { service } = await start(clock);
    service.pushAlerts([firing(clock, { alertname: 'Disk', instance: 'a' }, 3 * 3600_000)]);
    expect(await step(clock, service, 20 * S)).toEqual([]);
    service.pushAlerts([firing(clock, { alertname: 'Disk', instance: 'b' }, 3 * 3600_000)]);
    const first = await step(clock, service, 10 * S);
    expect(first).toHaveLength(1);
    expect(first[0]!.alerts.map((a) => a.labels.instance)).toEqual(['a', 'b']);
    expect(first[0]!.groupKey).toBe('{}:{alertname="Disk"}');
    expect(first[0]!.alerts[0]!.endsAt).toBe('0001-01-01T00:00:00Z');

    // A new alert joins; it is sent at the next group_interval tick, not before.
    service.pushAlerts([firing(clock, { alertname: 'Disk', instance: 'c' }, 3 * 3600_000)]);
    expect(await step(clock, service, 4 * M)).toEqual([]);
    const second = await step(clock, service, 1 * M);
    expect(second.map((b) => b.alerts.length)).toEqual([3]);

    // Nothing changes: silence until repeat_interval (1h) has passed since the last notification.
    let repeats = 0;
    for (let i = 0; i < 12; i++) repeats += (await step(clock, service, 5 * M)).length;
    expect(repeats).toBe(0);
    expect(await step(clock, service, 5 * M)).toHaveLength(1);

    // Instance a resolves: the next tick reports it resolved, the others still firing.
    service.pushAlerts([{ labels: { alertname: 'Disk', instance: 'a' }, startsAt: clock.now() - 70 * M, endsAt: clock.now() }]);
    const resolved = await step(clock, service, 5 * M);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.alerts.map((a) => `${a.labels.instance}:${a.status}`)).toEqual(['a:resolved', 'b:firing', 'c:firing']);
    expect(resolved[0]!.status).toBe('firing');
    // The resolved alert then leaves the group.
    service.pushAlerts([{ labels: { alertname: 'Disk', instance: 'b' }, startsAt: clock.now() - 70 * M, endsAt: clock.now() }]);
    const next = await step(clock, service, 5 * M);
    expect(next[0]!.alerts.map((a) => `${a.labels.instance}:${a.status}`)).toEqual(['b:resolved', 'c:firing']);
  });

  it('inhibits warnings while a critical alert of the same job fires, then notifies them', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const { service } = await start(clock);
    service.pushAlerts([
      firing(clock, { alertname: 'Latency', severity: 'warning', job: 'api' }),
      firing(clock, { alertname: 'Latency', severity: 'warning', job: 'db' }),
      firing(clock, { alertname: 'Down', severity: 'critical', job: 'api' }, 6 * M),
    ]);
    const sent = await step(clock, service, 30 * S);
    const byGroup = Object.fromEntries(sent.map((b) => [b.groupKey, b.alerts.map((a) => a.labels.job)]));
    expect(byGroup).toEqual({ '{}:{alertname="Down"}': ['api'], '{}:{alertname="Latency"}': ['db'] });
    expect(service.listAlerts().find((v) => v.alert.labels.some((l) => l.value === 'warning') && v.alert.labels.some((l) => l.value === 'api'))!.state).toBe('suppressed');
    // The critical alert ends (endsAt passes); the api warning is no longer inhibited.
    const after = await step(clock, service, 10 * M);
    const latency = after.find((b) => b.groupKey === '{}:{alertname="Latency"}');
    expect(latency?.alerts.map((a) => a.labels.job)).toEqual(['api', 'db']);
  });

  it('holds back silenced alerts until the silence expires', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const { service } = await start(clock);
    const id = service.silences.upsert({
      matchers: [{ name: 'alertname', value: 'Noisy', isRegex: false, isEqual: true }],
      startsAt: clock.now(),
      endsAt: clock.now() + 2 * 3600_000,
      createdBy: 'test',
      comment: 'maintenance',
    });
    service.pushAlerts([firing(clock, { alertname: 'Noisy' }, 3 * 3600_000), firing(clock, { alertname: 'Other' }, 3 * 3600_000)]);
    const sent = await step(clock, service, 30 * S);
    expect(sent.map((b) => b.groupKey)).toEqual(['{}:{alertname="Other"}']);
    expect(service.listAlerts().find((v) => v.alert.labels[0]!.value === 'Noisy')!.silencedBy).toEqual([id]);
    expect(await step(clock, service, 5 * M)).toEqual([]);
    service.silences.expire(id);
    const later = await step(clock, service, 5 * M);
    expect(later.map((b) => b.groupKey)).toEqual(['{}:{alertname="Noisy"}']);
  });

  it('notifies a business-hours route only inside Berlin business hours', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const { service } = await start(clock);
    service.pushAlerts([firing(clock, { alertname: 'Backlog', team: 'biz' }, 5 * 3600_000)]);
    let before9 = 0;
    for (let i = 0; i < 12; i++) before9 += (await step(clock, service, 5 * M)).length;
    expect(before9).toBe(0);
    // 08:00 + 12 x 5m = 09:00 Berlin; the next flush (09:00:30 group tick) is inside business hours.
    const sent = await step(clock, service, 5 * M);
    expect(sent).toHaveLength(1);
    expect(sink.received.at(-1)!.path).toBe('/biz');
  });

  it('re-routes known alerts on a configuration change without repeating notifications', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const { service } = await start(clock);
    service.pushAlerts([firing(clock, { alertname: 'Reload', team: 'biz' }, 5 * 3600_000), firing(clock, { alertname: 'Steady' }, 5 * 3600_000)]);
    expect((await step(clock, service, 30 * S)).map((b) => b.groupKey)).toEqual(['{}:{alertname="Steady"}']);
    // Same configuration: nothing is sent again.
    await service.applyConfig(parseAlertmanagerYaml(config(sink.url), 'am.yml'));
    expect(await step(clock, service, 1 * S)).toEqual([]);
    // Without the business-hours restriction the biz alert is notified at once (it is older than group_wait).
    await service.applyConfig(parseAlertmanagerYaml(config(sink.url).replace('      active_time_intervals: [business-hours]\n', ''), 'am.yml'));
    const sent = await step(clock, service, 1 * S);
    expect(sent.map((b) => b.groupKey)).toEqual(['{}/{team="biz"}:{alertname="Reload"}']);
    expect(sink.received.at(-1)!.path).toBe('/biz');
  });

  it('mutes a route during its mute time interval and notifies once it ends', async () => {
    // Monday 17:50 in Berlin (CET): inside business hours, which mute team=ops.
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 16, 50, 0));
    const { service } = await start(clock);
    service.pushAlerts([firing(clock, { alertname: 'Batch', team: 'ops' }, 5 * 3600_000)]);
    expect(await step(clock, service, 30 * S)).toEqual([]);
    expect(await step(clock, service, 5 * M)).toEqual([]);
    // The 18:00:30 tick is outside the interval.
    const sent = await step(clock, service, 5 * M);
    expect(sent.map((b) => b.groupKey)).toEqual(['{}/{team="ops"}:{alertname="Batch"}']);
  });

  it('after a restart sends neither a duplicate nor loses a pending notification', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const first = await start(clock);
    first.service.pushAlerts([firing(clock, { alertname: 'Notified' }, 3 * 3600_000)]);
    expect(await step(clock, first.service, 30 * S)).toHaveLength(1);
    // Pending: received, but group_wait has not passed when the process stops.
    first.service.pushAlerts([firing(clock, { alertname: 'Pending' }, 3 * 3600_000)]);
    const silenceId = first.service.silences.upsert({ matchers: [{ name: 'alertname', value: 'Quiet', isRegex: false, isEqual: true }], startsAt: clock.now(), endsAt: clock.now() + 3600_000, createdBy: 't', comment: 'c' });
    clock.advance(10 * S);
    await first.service.stop();

    const second = await start(clock, first.dataDir);
    expect(second.service.silences.get(silenceId)?.comment).toBe('c');
    second.service.pushAlerts([firing(clock, { alertname: 'Quiet' }, 3 * 3600_000)]);
    const sent = await step(clock, second.service, 30 * S);
    expect(sent.map((b) => b.groupKey)).toEqual(['{}:{alertname="Pending"}']);
    // Sources resend (Prometheus every resend delay): still no duplicate.
    second.service.pushAlerts([firing(clock, { alertname: 'Notified' }, 3 * 3600_000)]);
    expect(await step(clock, second.service, 5 * M)).toEqual([]);
  });

  it('retries a failing receiver with backoff and counts every attempt', async () => {
    const clock = new ManualClock(MONDAY_0800_BERLIN);
    const registry = new Registry();
    const dir = mkdtempSync(join(tmpdir(), 'wk-am-'));
    dirs.push(dir);
    const service = new AlertManagerService({
      dataDir: dir,
      logger: pino({ level: 'silent' }),
      registry,
      health: new HealthRegistry(),
      externalUrl: 'http://watchkeeper.test',
      clock,
      retry: { initialBackoffMs: 10, maxAttempts: 5 },
    });
    services.push(service);
    await service.applyConfig(parseAlertmanagerYaml(config(sink.url), 'am.yml'));
    sink.failNext(2, 503);
    service.pushAlerts([firing(clock, { alertname: 'Flaky' })]);
    clock.advance(30 * S);
    // Backoff sleeps run on the manual clock: advance it while the delivery retries.
    for (let i = 0; i < 50 && sink.received.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(100);
    }
    await service.settled();
    expect(sink.received).toHaveLength(1);
    const metrics = await registry.metrics();
    expect(metrics).toContain('watchkeeper_alertmanager_notifications_total{receiver="hook",integration="webhook"} 3');
    expect(metrics).toContain('watchkeeper_alertmanager_notifications_failed_total{receiver="hook",integration="webhook",reason="serverError"} 2');
    expect(metrics).toContain('watchkeeper_alertmanager_alerts{state="active"} 1');
  });
});
