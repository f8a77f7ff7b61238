import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRouteTree } from '../route.js';
import { AlertingConfigError, loadAlertingSection, parseAlertmanagerYaml } from './am-config.js';

const exec = promisify(execFile);
const AMTOOL = '/usr/bin/amtool';
const RECEIVERS = `receivers:\n  - name: r\n`;

/** Invalid configurations and the message (with line) each must produce. */
const INVALID: [string, string, string][] = [
  ['no route', RECEIVERS, 'am.yml:1: no route provided in config'],
  ['root without receiver', `route:\n  group_by: [a]\n${RECEIVERS}`, 'am.yml:1: route: root route must specify a default receiver'],
  ['root with matchers', `route:\n  receiver: r\n  matchers: [a="b"]\n${RECEIVERS}`, 'am.yml:1: route: root route must not have any matchers'],
  ['continue at root', `route:\n  receiver: r\n  continue: true\n${RECEIVERS}`, 'am.yml:3: route.continue: cannot have continue in root route'],
  ['undefined receiver', `route:\n  receiver: r\n  routes:\n    - receiver: pager\n${RECEIVERS}`, 'am.yml:4: route.routes[0].receiver: undefined receiver "pager" used in route'],
  ['bad duration', `route:\n  receiver: r\n  group_wait: soon\n${RECEIVERS}`, 'am.yml:3: route.group_wait: not a valid duration string: "soon"'],
  ['zero repeat', `route:\n  receiver: r\n  repeat_interval: 0s\n${RECEIVERS}`, 'am.yml:3: route.repeat_interval: repeat_interval cannot be zero'],
  ['wildcard and labels', `route:\n  receiver: r\n  group_by: ['...', job]\n${RECEIVERS}`, 'am.yml:3: route.group_by: cannot have wildcard group_by (`...`) and other other labels at the same time'],
  ['duplicate group_by', `route:\n  receiver: r\n  group_by: [job, job]\n${RECEIVERS}`, 'am.yml:3: route.group_by[1]: duplicated label "job" in group_by'],
  ['bad matcher', `route:\n  receiver: r\n  routes:\n    - matchers: ['severity=="x"']\n${RECEIVERS}`, 'am.yml:4: route.routes[0].matchers[0]: matcher value contains unescaped double quote: ="x"'],
  ['bad matcher syntax', `route:\n  receiver: r\n  routes:\n    - matchers: ['1abc=x']\n${RECEIVERS}`, 'am.yml:4: route.routes[0].matchers[0]: bad matcher format: 1abc=x'],
  ['bad regex', `route:\n  receiver: r\n  routes:\n    - match_re:\n        job: '(unclosed'\n${RECEIVERS}`, 'am.yml:5: route.routes[0].match_re.job: invalid regular expression'],
  ['unknown route field', `route:\n  receiver: r\n  group_wiat: 1s\n${RECEIVERS}`, 'am.yml:3: route.group_wiat: unknown field "group_wiat"'],
  ['duplicate receiver', `route:\n  receiver: r\nreceivers:\n  - name: r\n  - name: r\n`, 'am.yml:5: receivers[1].name: notification config name "r" is not unique'],
  ['undefined time interval', `route:\n  receiver: r\n  routes:\n    - receiver: r\n      mute_time_intervals: [weekend]\n${RECEIVERS}`, 'am.yml:5: route.routes[0].mute_time_intervals[0]: undefined time interval "weekend" used in route'],
  ['bad weekday', `route:\n  receiver: r\ntime_intervals:\n  - name: t\n    time_intervals:\n      - weekdays: ['monday:funday']\n${RECEIVERS}`, 'am.yml:6: time_intervals[0].time_intervals[0].weekdays[0]: "funday" is not a valid weekday'],
  ['bad time', `route:\n  receiver: r\ntime_intervals:\n  - name: t\n    time_intervals:\n      - times: [{start_time: '18:00', end_time: '09:00'}]\n${RECEIVERS}`, 'am.yml:6: time_intervals[0].time_intervals[0].times[0]: start time cannot be equal or greater than end time'],
  ['bad zone', `route:\n  receiver: r\ntime_intervals:\n  - name: t\n    time_intervals:\n      - location: Mars/Olympus\n${RECEIVERS}`, 'am.yml:6: time_intervals[0].time_intervals[0].location: unknown time zone Mars/Olympus'],
  ['bad day of month', `route:\n  receiver: r\ntime_intervals:\n  - name: t\n    time_intervals:\n      - days_of_month: ['0:5']\n${RECEIVERS}`, 'am.yml:6: time_intervals[0].time_intervals[0].days_of_month[0]: 0 is not a valid day of the month: out of range'],
  ['webhook without url', `route:\n  receiver: r\nreceivers:\n  - name: r\n    webhook_configs:\n      - send_resolved: true\n`, 'am.yml:6: receivers[0].webhook_configs[0]: one of url or url_file must be configured'],
  ['slack without url', `route:\n  receiver: r\nreceivers:\n  - name: r\n    slack_configs:\n      - channel: '#x'\n`, 'am.yml:6: receivers[0].slack_configs[0]: no global Slack API URL set either inline or in a file'],
  ['pagerduty without key', `route:\n  receiver: r\nreceivers:\n  - name: r\n    pagerduty_configs:\n      - url: http://x/\n`, 'am.yml:6: receivers[0].pagerduty_configs[0]: missing service or routing key in PagerDuty config'],
  ['email without smarthost', `route:\n  receiver: r\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b.c\n        from: x@y.z\n`, 'am.yml:6: receivers[0].email_configs[0]: no global SMTP smarthost set'],
  ['unsupported receiver', `route:\n  receiver: r\nreceivers:\n  - name: r\n    opsgenie_configs:\n      - api_key: x\n`, 'am.yml:5: receivers[0].opsgenie_configs: opsgenie_configs is not supported by Watchkeeper'],
  ['unknown template function', `route:\n  receiver: r\nreceivers:\n  - name: r\n    slack_configs:\n      - api_url: http://x/\n        title: '{{ .Status | shout }}'\n`, 'am.yml:7: receivers[0].slack_configs[0].title: template: field:1: function "shout" not defined'],
  ['unclosed template action', `route:\n  receiver: r\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b.c\n        from: x@y.z\n        smarthost: h:25\n        headers:\n          Subject: '{{ if .Status }}x'\n`, 'am.yml:10: receivers[0].email_configs[0].headers.Subject: template: field:1: unexpected EOF in if clause'],
  ['invalid YAML', `route:\n  receiver: [r\n`, 'am.yml:3: invalid YAML: Flow sequence'],
];

describe('Alertmanager configuration errors', () => {
  it.each(INVALID)('%s', (_name, text, message) => {
    let caught: unknown;
    try {
      parseAlertmanagerYaml(text, 'am.yml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AlertingConfigError);
    expect((caught as AlertingConfigError).problems[0]).toContain(message);
  });

  const dir = mkdtempSync(join(tmpdir(), 'wk-amcfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Watchkeeper is stricter in two cases: receivers it does not implement, and receiver template
  // fields, which Alertmanager only parses when it first sends a notification.
  const STRICTER = ['unsupported receiver', 'unknown template function', 'unclosed template action'];

  it.skipIf(!existsSync(AMTOOL))('the real amtool rejects the same invalid configurations', async () => {
    for (const [name, text] of INVALID.filter(([n]) => !STRICTER.includes(n))) {
      const file = join(dir, 'am.yml');
      writeFileSync(file, text);
      const result = await exec(AMTOOL, ['check-config', file]).then(
        () => 'accepted',
        () => 'rejected',
      );
      expect(result, name).toBe('rejected');
    }
  });

  it('rejects a template file that does not parse, naming the file and line', () => {
    writeFileSync(join(dir, 'bad.tmpl'), '{{ define "x" }}\n{{ .A | nosuch }}{{ end }}');
    const file = join(dir, 'am.yml');
    writeFileSync(file, `route:\n  receiver: r\ntemplates: ['*.tmpl']\n${RECEIVERS}`);
    expect(() => parseAlertmanagerYaml(readFileSync(file, 'utf8'), file)).toThrow(`${file}:3: templates[0]: template: ${join(dir, 'bad.tmpl')}:2: function "nosuch" not defined`);
  });

  it('locates errors of an inline alerting section in watchkeeper.yaml', () => {
    const file = join(dir, 'watchkeeper.yaml');
    const text = 'server:\n  listen: 127.0.0.1:9700\nalerting:\n  route:\n    receiver: nobody\n  receivers:\n    - name: r\n';
    writeFileSync(file, text);
    expect(() => loadAlertingSection({ route: { receiver: 'nobody' }, receivers: [{ name: 'r' }] }, file)).toThrow(
      `${file}:5: route.receiver: undefined receiver "nobody" used in route`,
    );
  });

  it('applies defaults and inheritance as Alertmanager does', () => {
    const cfg = parseAlertmanagerYaml(
      'route:\n  receiver: r\n  group_by: [a]\n  routes:\n    - matchers: [x="1"]\n      group_wait: 1s\n      routes:\n        - matchers: [y="2"]\n          group_by: [\'...\']\n          receiver: s\nreceivers:\n  - name: r\n  - name: s\n',
      'am.yml',
    );
    const root = buildRouteTree(cfg.route);
    const leaf = root.routes[0]!.routes[0]!;
    expect(root.opts).toMatchObject({ groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 });
    expect(root.routes[0]!.opts).toMatchObject({ receiver: 'r', groupWaitMs: 1000, groupByAll: false });
    expect([...root.routes[0]!.opts.groupBy]).toEqual(['a']);
    expect(leaf.opts).toMatchObject({ receiver: 's', groupWaitMs: 1000, groupByAll: true });
    expect(leaf.key).toBe('{}/{x="1"}/{y="2"}');
  });

  it('loads the shipped example unchanged', () => {
    const example = resolve(import.meta.dirname, '../../../../../../shared/examples/alertmanager.yml');
    if (!existsSync(example)) {
      console.warn('skipping: ../shared/examples/alertmanager.yml is not present');
      return;
    }
    const cfg = parseAlertmanagerYaml(readFileSync(example, 'utf8'), example);
    expect(cfg.receivers.map((r) => r.name)).toEqual(['default-webhook', 'pagerduty-critical', 'team-chat', 'team-email']);
    expect(cfg.receivers.flatMap((r) => r.integrations.map((i) => i.kind))).toEqual(['webhook', 'pagerduty', 'slack', 'email']);
  });
});
