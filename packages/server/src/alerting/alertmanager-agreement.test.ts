/**
 * Notification agreement with the real Alertmanager (Debian prometheus-alertmanager 0.25): the same
 * configuration and the same posted alerts produce the same webhook payload (group key, fingerprints,
 * labels, status, times), the same PagerDuty event (dedup key, summary, details), the same Slack
 * message and the same email subject, up to the product name ("Watchkeeper" where Alertmanager says
 * "Alertmanager") and the receiving URL paths.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessControl } from '../api/auth.js';
import { createHttpServer } from '../api/http-server.js';
import { registerAlertmanagerApi } from '../api/alertmanager/alertmanager-routes.js';
import { HealthRegistry } from '../selfobs/health.js';
import { createSelfMetrics } from '../selfobs/metrics.js';
import { freePort } from '../../test/support/watchkeeper-process.js';
import { startHttpSink, startSmtpSink, type HttpSink, type ReceivedRequest, type SmtpSink } from '../../test/support/notification-sinks.js';
import { AlertManagerService } from './alertmanager-service.js';
import { parseAlertmanagerYaml } from './config/am-config.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const hasAlertmanager = existsSync(ALERTMANAGER);
if (!hasAlertmanager && process.env.CI) throw new Error('prometheus-alertmanager is required under CI (apt-get install prometheus-alertmanager)');
if (!hasAlertmanager) console.warn('skipping the Alertmanager agreement test: /usr/bin/prometheus-alertmanager is not installed');

const EXTERNAL_URL = 'http://alerts.example.test';

/** A user template file, loaded by both: exercises the Go template features notification templates use. */
const CUSTOM_TEMPLATES = `{{ define "custom.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} on {{ .CommonLabels.job }}{{ end }}
{{ define "custom.text" }}{{ range $i, $a := .Alerts }}{{ if $i }}
{{ end }}*{{ $a.Labels.instance }}* since {{ $a.StartsAt.Format "2006-01-02 15:04:05" }}{{ with $a.Annotations.summary }} - {{ . }}{{ end }}{{ range $a.Labels.SortedPairs }} {{ .Name }}={{ .Value | printf "%q" }}{{ end }}{{ end }}
{{- if gt (len .Alerts.Resolved) 0 }} resolved: {{ len .Alerts.Resolved }}{{ end }} ({{ .GroupLabels.SortedPairs.Values | join "/" }}) {{ reReplaceAll "(\\\\w+):(\\\\d+)" "$2@$1" "host:9100" }} {{ title "hello world" }} {{ printf "%05.1f|%-4s|%x" 3.14159 "ab" 255 }} {{ .CommonLabels.Remove (stringSlice "job") | len }}{{ end }}
`;

function config(sink: string, smtpPort: number, who: 'am' | 'wk'): string {
  return `
templates: ['custom.tmpl']
route:
  receiver: hook
  group_by: [alertname, job]
  group_wait: 1s
  group_interval: 2s
  routes:
    - matchers: [severity="critical"]
      receiver: pager
      continue: true
    - matchers: [severity="critical"]
      receiver: chat
      continue: true
    - matchers: [severity="critical"]
      receiver: mail
receivers:
  - name: hook
    webhook_configs: [{url: '${sink}/${who}/hook'}]
  - name: pager
    pagerduty_configs: [{routing_key: 0123456789abcdef0123456789abcdef, url: '${sink}/${who}/v2/enqueue'}]
  - name: chat
    slack_configs:
      - api_url: '${sink}/${who}/services/T0/B0/X'
        channel: '#ops'
        title: '{{ template "custom.title" . }}'
        text: '{{ template "custom.text" . }}'
        fields: [{title: Instances, value: '{{ range .Alerts }}{{ .Labels.instance }} {{ end }}', short: true}]
  - name: mail
    email_configs:
      - to: ${who}@example.com
        from: alerts@example.com
        smarthost: 127.0.0.1:${smtpPort}
        require_tls: false
`;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Makes the two products' payloads comparable: product name and receiving URL prefix. */
function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v).replaceAll('Watchkeeper', 'Alertmanager').replaceAll('AlertManager', 'Alertmanager'));
}

describe.skipIf(!hasAlertmanager)('notifications agree with the real Alertmanager', () => {
  let sink: HttpSink;
  let smtp: SmtpSink;
  let dir: string;
  let am: ChildProcess | null = null;
  let amUrl = '';
  let service: AlertManagerService;
  let app: FastifyInstance;
  let targets: string[] = [];
  let startsAt = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wk-am-agree-'));
    sink = await startHttpSink();
    smtp = await startSmtpSink();
    writeFileSync(join(dir, 'custom.tmpl'), CUSTOM_TEMPLATES);
    writeFileSync(join(dir, 'am.yml'), config(sink.url, smtp.port, 'am'));
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    am = spawn(
      ALERTMANAGER,
      [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', `--web.external-url=${EXTERNAL_URL}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let amLog = '';
    am.stderr!.on('data', (d: Buffer) => (amLog = (amLog + d.toString()).slice(-4000)));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`${amUrl}/-/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`Alertmanager did not become ready:\n${amLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const logger = pino({ level: 'silent' });
    const metrics = createSelfMetrics('test');
    service = new AlertManagerService({ dataDir: join(dir, 'wk-data'), logger, registry: metrics.registry, health: new HealthRegistry(), externalUrl: EXTERNAL_URL });
    await service.applyConfig(parseAlertmanagerYaml(config(sink.url, smtp.port, 'wk'), join(dir, 'wk.yml')));
    app = createHttpServer({ logger, metrics, accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerAlertmanagerApi(app, { service, version: 'test' });
    await app.listen({ host: '127.0.0.1', port: 0 });

    const wkPort = (app.server.address() as { port: number }).port;
    targets = [`${amUrl}/api/v2/alerts`, `http://127.0.0.1:${wkPort}/api/v2/alerts`];
    // Starting now, not in the past: an alert older than group_wait makes Alertmanager flush at once,
    // racing its insertion of the rest of the batch, so its first notification could hold one alert.
    startsAt = new Date().toISOString();
    const endsAt = new Date(Date.now() + 3600_000).toISOString();
    const alerts = JSON.stringify([
      { labels: { alertname: 'Down', severity: 'critical', job: 'api', instance: 'b:9' }, annotations: { summary: 'api is down' }, startsAt, endsAt, generatorURL: 'http://prom/graph?g0.expr=up' },
      { labels: { alertname: 'Down', severity: 'critical', job: 'api', instance: 'a:9' }, annotations: { summary: 'api is down' }, startsAt, endsAt, generatorURL: 'http://prom/graph?g0.expr=up' },
      { labels: { alertname: 'Slow', severity: 'warning', job: 'db' }, annotations: { summary: 'slow', runbook: 'http://rb' }, startsAt, endsAt },
    ]);
    await post(alerts);
  });

  async function post(body: string): Promise<void> {
    for (const url of targets) {
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
    }
  }

  afterAll(async () => {
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am!.once('exit', r));
      am.kill('SIGTERM');
      await exited;
    }
    await service?.stop();
    await app?.close();
    await sink?.close();
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pair = async (path: string, key?: (r: ReceivedRequest) => string, atLeast = 1): Promise<[unknown, unknown][]> => {
    const of = (who: string) => sink.received.filter((r) => r.path === `/${who}${path}`);
    await until(`${path} from both`, () => (of('am').length >= atLeast && of('wk').length === of('am').length ? true : undefined));
    const sortKey = key ?? (() => '');
    const am = [...of('am')].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const wk = [...of('wk')].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    return am.map((a, i) => [normalise(a.body), normalise(wk[i]!.body)]);
  };

  it('sends the same webhook payloads', async () => {
    const pairs = await pair('/hook', (r) => (r.body as { groupKey: string }).groupKey);
    for (const [theirs, ours] of pairs) {
      expect(Object.keys(ours as object)).toEqual(Object.keys(theirs as object));
      expect(ours).toEqual(theirs);
    }
  });

  it('sends the same PagerDuty event', async () => {
    for (const [theirs, ours] of await pair('/v2/enqueue')) expect(ours).toEqual(theirs);
  });

  it('sends the same Slack message, rendered from a user template file', async () => {
    for (const [theirs, ours] of await pair('/services/T0/B0/X')) {
      expect(JSON.stringify(ours)).toContain('since 20');
      expect(ours).toEqual(theirs);
    }
  });

  it('sends email with the same subject', async () => {
    const subject = (to: string) => {
      const mail = smtp.received.find((m) => m.to.includes(to));
      return mail ? /^Subject: (.*)$/m.exec(mail.data)?.[1] : undefined;
    };
    const theirs = await until('Alertmanager email', () => subject('am@example.com'));
    const ours = await until('Watchkeeper email', () => subject('wk@example.com'));
    expect(ours).toBe(theirs);
  });

  it('sends the same webhook payload and PagerDuty event when alerts resolve', async () => {
    const before = sink.received.filter((r) => r.path === '/am/hook').length;
    const now = new Date().toISOString();
    await post(
      JSON.stringify([
        { labels: { alertname: 'Down', severity: 'critical', job: 'api', instance: 'a:9' }, annotations: { summary: 'api is down' }, startsAt, endsAt: now, generatorURL: 'http://prom/graph?g0.expr=up' },
        { labels: { alertname: 'Slow', severity: 'warning', job: 'db' }, annotations: { summary: 'slow', runbook: 'http://rb' }, startsAt, endsAt: now },
      ]),
    );
    const hooks = await pair('/hook', (r) => `${(r.body as { groupKey: string }).groupKey}${r.at}`, before + 1);
    const resolved = hooks.filter(([theirs]) => JSON.stringify(theirs).includes('"resolved"'));
    expect(resolved).toHaveLength(1);
    for (const [theirs, ours] of resolved) expect(ours).toEqual(theirs);
    const events = await pair('/v2/enqueue', (r) => String(r.at), 2);
    expect(events[1]![1]).toMatchObject({ event_action: 'trigger', payload: { custom_details: { num_firing: '1', num_resolved: '1' } } });
    expect(events[1]![1]).toEqual(events[1]![0]);
  });
});
