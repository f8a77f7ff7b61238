import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../model/labels.js';
import { startHttpSink, startSmtpSink, type HttpSink, type SmtpSink } from '../../../test/support/notification-sinks.js';
import { fingerprintLabels, type Alert } from '../alert.js';
import { buildTemplates } from '../alertmanager-service.js';
import { parseAlertmanagerYaml, type AmConfig } from '../config/am-config.js';
import type { EmailConfig, PagerdutyConfig, SlackConfig, WebhookConfig } from '../config/receivers-config.js';
import { EmailNotifier } from './email.js';
import { NotifyError, type Notification } from './notifier.js';
import { groupKeyHash, PagerdutyNotifier } from './pagerduty.js';
import { SlackNotifier } from './slack.js';
import { webhookPayload } from './webhook.js';

let sink: HttpSink;
let smtp: SmtpSink;
let smtpNoTls: SmtpSink;
beforeAll(async () => {
  sink = await startHttpSink();
  smtp = await startSmtpSink();
  smtpNoTls = await startSmtpSink(undefined, { noStartTls: true });
});
afterAll(async () => {
  await sink.close();
  await smtp.close();
  await smtpNoTls.close();
});

function config(receiverYaml: string): AmConfig {
  return parseAlertmanagerYaml(`route:\n  receiver: r\nreceivers:\n  - name: r\n${receiverYaml}`, 'am.yml');
}

function alert(labels: Record<string, string>, resolved = false, annotations: Record<string, string> = {}): Alert {
  const l = labelsFromRecord(labels);
  return { labels: l, annotations, startsAt: Date.UTC(2026, 0, 1), endsAt: resolved ? Date.UTC(2026, 0, 1, 1) : 0, generatorURL: 'http://prom/graph', updatedAt: 0, timeout: false, fingerprint: fingerprintLabels(l) };
}

function notification(cfg: AmConfig, alerts: Alert[]): Notification {
  return { groupKey: '{}:{alertname="Down"}', receiver: 'r', groupLabels: labelsFromRecord({ alertname: 'Down' }), alerts, externalUrl: 'http://wk.test', templates: buildTemplates(cfg, () => Date.UTC(2026, 0, 1, 2)) };
}

describe('notifiers', () => {
  it('truncates webhook alerts to max_alerts and reports how many were cut', () => {
    const cfg = config(`    webhook_configs: [{url: 'http://x/', max_alerts: 2}]\n`);
    const conf = cfg.receivers[0]!.integrations[0] as WebhookConfig;
    const body = webhookPayload(notification(cfg, [alert({ alertname: 'Down', i: '1' }), alert({ alertname: 'Down', i: '2' }), alert({ alertname: 'Down', i: '3' }, true)]), conf.maxAlerts);
    expect(body.truncatedAlerts).toBe(1);
    expect((body.alerts as unknown[]).length).toBe(2);
    expect(body.status).toBe('firing');
    expect(body.commonLabels).toEqual({ alertname: 'Down' });
  });

  it('resolves the PagerDuty incident with the same dedup key and renders images and links', async () => {
    const cfg = config(
      `    pagerduty_configs:\n      - routing_key: k\n        url: '${sink.url}/v2/enqueue'\n        images: [{src: '{{ .CommonLabels.alertname }}.png', alt: ''}, {src: ''}]\n        links: [{href: 'http://rb/{{ .GroupLabels.alertname }}', text: runbook}]\n`,
    );
    const pd = new PagerdutyNotifier(cfg.receivers[0]!.integrations[0] as PagerdutyConfig);
    const body = await pd.payload(notification(cfg, [alert({ alertname: 'Down', job: 'api' }, true)]));
    expect(body).toMatchObject({ event_action: 'resolve', dedup_key: groupKeyHash('{}:{alertname="Down"}'), images: [{ src: 'Down.png' }], links: [{ href: 'http://rb/Down', text: 'runbook' }] });
    expect((body.payload as { summary: string }).summary).toBe('[RESOLVED] Down (api)');
    await pd.notify(notification(cfg, [alert({ alertname: 'Down' })]));
    expect(sink.received.at(-1)!.body).toMatchObject({ event_action: 'trigger', routing_key: 'k' });
  });

  it('builds the Slack attachment from the default and configured templates', async () => {
    const cfg = config(`    slack_configs:\n      - api_url: '${sink.url}/services/x'\n        text: '{{ range .Alerts }}{{ .Annotations.summary }};{{ end }}'\n        fields: [{title: Job, value: '{{ .CommonLabels.job }}', short: true}]\n`);
    const slack = new SlackNotifier(cfg.receivers[0]!.integrations[0] as SlackConfig);
    const body = await slack.payload(notification(cfg, [alert({ alertname: 'Down', job: 'api' }, false, { summary: 'a' }), alert({ alertname: 'Down', job: 'api', i: '2' }, true, { summary: 'b' })]));
    expect(body).toEqual({
      username: 'Watchkeeper',
      attachments: [
        {
          title: '[FIRING:1] Down (api)',
          title_link: 'http://wk.test/#/alerts?receiver=r',
          text: 'a;b;',
          fallback: '[FIRING:1] Down (api) | http://wk.test/#/alerts?receiver=r',
          callback_id: '',
          fields: [{ title: 'Job', value: 'api', short: true }],
          footer: '',
          color: 'danger',
          mrkdwn_in: ['fallback', 'pretext', 'text'],
        },
      ],
    });
  });

  it('emails through SMTP with the default subject and HTML body', async () => {
    const cfg = config(`    email_configs:\n      - {to: a@example.com, from: wk@example.com, smarthost: '127.0.0.1:${smtp.port}', tls_config: {insecure_skip_verify: true}}\n`);
    await new EmailNotifier(cfg.receivers[0]!.integrations[0] as EmailConfig).notify(notification(cfg, [alert({ alertname: 'Down', job: 'api' }, false, { summary: 'api <down>' })]));
    const mail = smtp.received.at(-1)!;
    expect(mail).toMatchObject({ to: ['a@example.com'], secure: true });
    expect(mail.data).toContain('Subject: [FIRING:1] Down (api)');
    expect(mail.data).toContain('api &lt;down&gt;');
  });

  it('refuses to send email without STARTTLS when require_tls is on (the default)', async () => {
    const cfg = config(`    email_configs:\n      - {to: a@example.com, from: wk@example.com, smarthost: '127.0.0.1:${smtpNoTls.port}'}\n`);
    const sent = new EmailNotifier(cfg.receivers[0]!.integrations[0] as EmailConfig).notify(notification(cfg, [alert({ alertname: 'Down' })]));
    await expect(sent).rejects.toBeInstanceOf(NotifyError);
    expect(smtpNoTls.received).toHaveLength(0);
    const plain = config(`    email_configs:\n      - {to: a@example.com, from: wk@example.com, smarthost: '127.0.0.1:${smtpNoTls.port}', require_tls: false}\n`);
    await new EmailNotifier(plain.receivers[0]!.integrations[0] as EmailConfig).notify(notification(plain, [alert({ alertname: 'Down' })]));
    expect(smtpNoTls.received).toHaveLength(1);
    expect(smtpNoTls.received[0]!.secure).toBe(false);
  });
});
