/**
 * Receivers of an Alertmanager configuration: webhook, Slack, PagerDuty (Events API v2) and email
 * integrations, with Alertmanager's defaults (template texts, send_resolved) and its checks.
 * Template fields stay as template text; notifiers render them per notification.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { alertmanagerFunctions, TemplateError, TemplateSet } from '../../template/index.js';
import {
  ConfigProblem,
  readBool,
  readInt,
  readList,
  readMap,
  readString,
  readStringMap,
  readUrl,
  type ConfigPath,
} from './config-reader.js';

/** The subset of Prometheus's http_config that notifiers honour. */
export interface HttpClientConfig {
  /** The Authorization header value, e.g. `Bearer x` or `Basic ...`. */
  readonly authorization: string | null;
  readonly insecureSkipVerify: boolean;
}

export interface GlobalConfig {
  readonly resolveTimeoutMs: number;
  readonly smtpFrom: string | null;
  readonly smtpHello: string;
  readonly smtpSmarthost: string | null;
  readonly smtpAuthUsername: string | null;
  readonly smtpAuthPassword: string | null;
  readonly smtpAuthIdentity: string | null;
  readonly smtpRequireTls: boolean;
  readonly slackApiUrl: string | null;
  readonly pagerdutyUrl: string;
  readonly httpConfig: HttpClientConfig;
}

export interface WebhookConfig {
  readonly kind: 'webhook';
  readonly sendResolved: boolean;
  readonly url: string;
  /** 0 = all alerts. */
  readonly maxAlerts: number;
  readonly httpConfig: HttpClientConfig;
}

export interface SlackField {
  readonly title: string;
  readonly value: string;
  readonly short: boolean;
}

export interface SlackConfig {
  readonly kind: 'slack';
  readonly sendResolved: boolean;
  readonly apiUrl: string;
  readonly channel: string;
  readonly username: string;
  readonly color: string;
  readonly title: string;
  readonly titleLink: string;
  readonly pretext: string;
  readonly text: string;
  readonly fallback: string;
  readonly footer: string;
  readonly callbackId: string;
  readonly imageUrl: string;
  readonly thumbUrl: string;
  readonly iconEmoji: string;
  readonly iconUrl: string;
  readonly fields: readonly SlackField[];
  readonly shortFields: boolean;
  readonly linkNames: boolean;
  readonly mrkdwnIn: readonly string[];
  readonly httpConfig: HttpClientConfig;
}

export interface PagerdutyConfig {
  readonly kind: 'pagerduty';
  readonly sendResolved: boolean;
  readonly routingKey: string;
  readonly url: string;
  readonly client: string;
  readonly clientUrl: string;
  readonly description: string;
  readonly details: Readonly<Record<string, string>>;
  readonly severity: string;
  readonly class: string;
  readonly component: string;
  readonly group: string;
  readonly source: string;
  readonly images: readonly { readonly src: string; readonly alt: string; readonly href: string }[];
  readonly links: readonly { readonly href: string; readonly text: string }[];
  readonly httpConfig: HttpClientConfig;
}

export interface EmailConfig {
  readonly kind: 'email';
  readonly sendResolved: boolean;
  readonly to: string;
  readonly from: string;
  readonly hello: string;
  /** host:port */
  readonly smarthost: string;
  readonly authUsername: string | null;
  readonly authPassword: string | null;
  readonly requireTls: boolean;
  readonly insecureSkipVerify: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly html: string;
  readonly text: string;
}

export type IntegrationConfig = WebhookConfig | SlackConfig | PagerdutyConfig | EmailConfig;

export interface ReceiverConfig {
  readonly name: string;
  /** In Alertmanager's order: each kind's configs in file order. */
  readonly integrations: readonly IntegrationConfig[];
}

/** Parses (without running) template text, so a bad template is a load error with its location. */
const TEMPLATE_CHECKER = new TemplateSet(alertmanagerFunctions(() => 0));

export function checkTemplate(text: string, path: ConfigPath): string {
  if (!text.includes('{{')) return text;
  try {
    TEMPLATE_CHECKER.withFunctions({}).parse('field', text);
  } catch (err) {
    if (err instanceof TemplateError) throw new ConfigProblem(path, err.message);
    throw err;
  }
  return text;
}

const HTTP_CONFIG_FIELDS = ['basic_auth', 'authorization', 'bearer_token', 'bearer_token_file', 'tls_config', 'follow_redirects', 'enable_http2'];

/** Reads `X` or `X_file` (a file holding the secret, relative to the configuration's folder). */
function secret(raw: Record<string, unknown>, key: string, path: ConfigPath, baseDir: string): string | undefined {
  const inline = readString(raw[key], [...path, key]);
  const file = readString(raw[`${key}_file`], [...path, `${key}_file`]);
  if (inline !== undefined && file !== undefined) throw new ConfigProblem(path, `at most one of ${key} and ${key}_file must be configured`);
  if (file === undefined) return inline;
  try {
    return readFileSync(resolve(baseDir, file), 'utf8').trim();
  } catch (err) {
    throw new ConfigProblem([...path, `${key}_file`], `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function parseHttpConfig(v: unknown, path: ConfigPath, baseDir: string, fallback: HttpClientConfig | null): HttpClientConfig {
  if (v === undefined || v === null) return fallback ?? { authorization: null, insecureSkipVerify: false };
  const raw = readMap(v, path, HTTP_CONFIG_FIELDS);
  let authorization: string | null = null;
  if (raw.basic_auth !== undefined) {
    const p = [...path, 'basic_auth'];
    const b = readMap(raw.basic_auth, p, ['username', 'password', 'password_file']);
    const user = readString(b.username, [...p, 'username']) ?? '';
    const pass = secret(b, 'password', p, baseDir) ?? '';
    authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  if (raw.authorization !== undefined) {
    const p = [...path, 'authorization'];
    const a = readMap(raw.authorization, p, ['type', 'credentials', 'credentials_file']);
    if (authorization !== null) throw new ConfigProblem(path, 'at most one of basic_auth, authorization and bearer_token must be configured');
    authorization = `${readString(a.type, [...p, 'type']) ?? 'Bearer'} ${secret(a, 'credentials', p, baseDir) ?? ''}`;
  }
  const bearer = secret(raw, 'bearer_token', path, baseDir);
  if (bearer !== undefined) {
    if (authorization !== null) throw new ConfigProblem(path, 'at most one of basic_auth, authorization and bearer_token must be configured');
    authorization = `Bearer ${bearer}`;
  }
  const tls = readMap(raw.tls_config, [...path, 'tls_config'], ['insecure_skip_verify', 'ca_file', 'cert_file', 'key_file', 'server_name', 'min_version']);
  return { authorization, insecureSkipVerify: readBool(tls.insecure_skip_verify, [...path, 'tls_config', 'insecure_skip_verify']) ?? false };
}

const WEBHOOK_FIELDS = ['send_resolved', 'url', 'url_file', 'http_config', 'max_alerts'];
const SLACK_FIELDS = [
  'send_resolved', 'api_url', 'api_url_file', 'channel', 'username', 'color', 'title', 'title_link', 'pretext', 'text', 'fallback', 'footer',
  'icon_emoji', 'icon_url', 'image_url', 'thumb_url', 'fields', 'short_fields', 'link_names', 'mrkdwn_in', 'callback_id', 'http_config',
];
const PAGERDUTY_FIELDS = [
  'send_resolved', 'routing_key', 'routing_key_file', 'service_key', 'service_key_file', 'url', 'client', 'client_url', 'description', 'details',
  'severity', 'class', 'component', 'group', 'source', 'images', 'links', 'http_config',
];
const EMAIL_FIELDS = [
  'send_resolved', 'to', 'from', 'hello', 'smarthost', 'auth_username', 'auth_password', 'auth_password_file', 'auth_secret', 'auth_identity',
  'headers', 'html', 'text', 'require_tls', 'tls_config',
];

function parseWebhook(v: unknown, path: ConfigPath, g: GlobalConfig, baseDir: string): WebhookConfig {
  const raw = readMap(v, path, WEBHOOK_FIELDS);
  const url = secret(raw, 'url', path, baseDir);
  if (url === undefined) throw new ConfigProblem(path, 'one of url or url_file must be configured');
  readUrl(url, raw.url !== undefined ? [...path, 'url'] : [...path, 'url_file']);
  return {
    kind: 'webhook',
    sendResolved: readBool(raw.send_resolved, [...path, 'send_resolved']) ?? true,
    url,
    maxAlerts: readInt(raw.max_alerts, [...path, 'max_alerts']) ?? 0,
    httpConfig: parseHttpConfig(raw.http_config, [...path, 'http_config'], baseDir, g.httpConfig),
  };
}

function parseSlack(v: unknown, path: ConfigPath, g: GlobalConfig, baseDir: string): SlackConfig {
  const raw = readMap(v, path, SLACK_FIELDS);
  const apiUrl = secret(raw, 'api_url', path, baseDir) ?? g.slackApiUrl;
  if (apiUrl === null) throw new ConfigProblem(path, 'no global Slack API URL set either inline or in a file');
  readUrl(apiUrl, [...path, 'api_url']);
  const str = (key: string, def: string) => checkTemplate(readString(raw[key], [...path, key]) ?? def, [...path, key]);
  return {
    kind: 'slack',
    sendResolved: readBool(raw.send_resolved, [...path, 'send_resolved']) ?? false,
    apiUrl,
    channel: str('channel', ''),
    username: str('username', '{{ template "slack.default.username" . }}'),
    color: str('color', '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'),
    title: str('title', '{{ template "slack.default.title" . }}'),
    titleLink: str('title_link', '{{ template "slack.default.titlelink" . }}'),
    pretext: str('pretext', '{{ template "slack.default.pretext" . }}'),
    text: str('text', '{{ template "slack.default.text" . }}'),
    fallback: str('fallback', '{{ template "slack.default.fallback" . }}'),
    footer: str('footer', '{{ template "slack.default.footer" . }}'),
    callbackId: str('callback_id', '{{ template "slack.default.callbackid" . }}'),
    imageUrl: str('image_url', ''),
    thumbUrl: str('thumb_url', ''),
    iconEmoji: str('icon_emoji', '{{ template "slack.default.iconemoji" . }}'),
    iconUrl: str('icon_url', '{{ template "slack.default.iconurl" . }}'),
    fields: readList(raw.fields, [...path, 'fields']).map((f, i) => {
      const p = [...path, 'fields', i];
      const r = readMap(f, p, ['title', 'value', 'short']);
      const title = readString(r.title, [...p, 'title']);
      const value = readString(r.value, [...p, 'value']);
      if (!title || !value) throw new ConfigProblem(p, 'missing title or value in Slack field configuration');
      checkTemplate(title, [...p, 'title']);
      checkTemplate(value, [...p, 'value']);
      return { title, value, short: readBool(r.short, [...p, 'short']) ?? false };
    }),
    shortFields: readBool(raw.short_fields, [...path, 'short_fields']) ?? false,
    linkNames: readBool(raw.link_names, [...path, 'link_names']) ?? false,
    mrkdwnIn: readList(raw.mrkdwn_in, [...path, 'mrkdwn_in']).map((s, i) => readString(s, [...path, 'mrkdwn_in', i]) ?? ''),
    httpConfig: parseHttpConfig(raw.http_config, [...path, 'http_config'], baseDir, g.httpConfig),
  };
}

const DEFAULT_PAGERDUTY_DETAILS: Record<string, string> = {
  firing: '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
  resolved: '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
  num_firing: '{{ .Alerts.Firing | len }}',
  num_resolved: '{{ .Alerts.Resolved | len }}',
};

function parsePagerduty(v: unknown, path: ConfigPath, g: GlobalConfig, baseDir: string): PagerdutyConfig {
  const raw = readMap(v, path, PAGERDUTY_FIELDS);
  if (raw.service_key !== undefined || raw.service_key_file !== undefined) {
    throw new ConfigProblem([...path, 'service_key'], 'PagerDuty Events API v1 (service_key) is not supported; use routing_key (Events API v2)');
  }
  const routingKey = secret(raw, 'routing_key', path, baseDir);
  if (!routingKey) throw new ConfigProblem(path, 'missing service or routing key in PagerDuty config');
  const url = readUrl(raw.url, [...path, 'url']) ?? g.pagerdutyUrl;
  const str = (key: string, def: string) => checkTemplate(readString(raw[key], [...path, key]) ?? def, [...path, key]);
  const details = readStringMap(raw.details, [...path, 'details']);
  for (const [k, v] of Object.entries(details)) checkTemplate(v, [...path, 'details', k]);
  const client = str('client', '{{ template "pagerduty.default.client" . }}');
  return {
    kind: 'pagerduty',
    sendResolved: readBool(raw.send_resolved, [...path, 'send_resolved']) ?? true,
    routingKey,
    url,
    client,
    clientUrl: str('client_url', '{{ template "pagerduty.default.clientURL" . }}'),
    description: str('description', '{{ template "pagerduty.default.description" .}}'),
    details: { ...DEFAULT_PAGERDUTY_DETAILS, ...details },
    severity: str('severity', 'error'),
    class: str('class', ''),
    component: str('component', ''),
    group: str('group', ''),
    source: str('source', client),
    images: readList(raw.images, [...path, 'images']).map((v, i) => {
      const p = [...path, 'images', i];
      const r = readMap(v, p, ['src', 'alt', 'href']);
      const field = (k: string) => checkTemplate(readString(r[k], [...p, k]) ?? '', [...p, k]);
      return { src: field('src'), alt: field('alt'), href: field('href') };
    }),
    links: readList(raw.links, [...path, 'links']).map((v, i) => {
      const p = [...path, 'links', i];
      const r = readMap(v, p, ['href', 'text']);
      const field = (k: string) => checkTemplate(readString(r[k], [...p, k]) ?? '', [...p, k]);
      return { href: field('href'), text: field('text') };
    }),
    httpConfig: parseHttpConfig(raw.http_config, [...path, 'http_config'], baseDir, g.httpConfig),
  };
}

function parseEmail(v: unknown, path: ConfigPath, g: GlobalConfig, baseDir: string): EmailConfig {
  const raw = readMap(v, path, EMAIL_FIELDS);
  const to = readString(raw.to, [...path, 'to']);
  if (!to) throw new ConfigProblem(path, 'missing to address in email config');
  const from = readString(raw.from, [...path, 'from']) ?? g.smtpFrom;
  if (!from) throw new ConfigProblem(path, 'no global mail from address set');
  const smarthost = readString(raw.smarthost, [...path, 'smarthost']) ?? g.smtpSmarthost;
  if (!smarthost) throw new ConfigProblem(path, 'no global SMTP smarthost set');
  if (!/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(smarthost)) throw new ConfigProblem([...path, 'smarthost'], `address ${smarthost}: missing port in address`);
  const headers: Record<string, string> = {};
  for (const [k, val] of Object.entries(readStringMap(raw.headers, [...path, 'headers']))) {
    // Header names are case-insensitive; Alertmanager normalises them to canonical form.
    const canonical = k.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
    if (canonical in headers) throw new ConfigProblem([...path, 'headers'], `duplicate header "${canonical}" in email config`);
    headers[canonical] = checkTemplate(val, [...path, 'headers', k]);
  }
  headers.From ??= from;
  headers.To ??= to;
  headers.Subject ??= '{{ template "email.default.subject" . }}';
  const tls = readMap(raw.tls_config, [...path, 'tls_config'], ['insecure_skip_verify', 'ca_file', 'cert_file', 'key_file', 'server_name', 'min_version']);
  const text = checkTemplate(readString(raw.text, [...path, 'text']) ?? '', [...path, 'text']);
  return {
    kind: 'email',
    sendResolved: readBool(raw.send_resolved, [...path, 'send_resolved']) ?? false,
    to,
    from,
    hello: readString(raw.hello, [...path, 'hello']) ?? g.smtpHello,
    smarthost,
    authUsername: readString(raw.auth_username, [...path, 'auth_username']) ?? g.smtpAuthUsername,
    authPassword: secret(raw, 'auth_password', path, baseDir) ?? g.smtpAuthPassword,
    requireTls: readBool(raw.require_tls, [...path, 'require_tls']) ?? g.smtpRequireTls,
    insecureSkipVerify: readBool(tls.insecure_skip_verify, [...path, 'tls_config', 'insecure_skip_verify']) ?? false,
    headers,
    html: checkTemplate(readString(raw.html, [...path, 'html']) ?? '{{ template "email.default.html" . }}', [...path, 'html']),
    text,
  };
}

const RECEIVER_KINDS: Record<string, (v: unknown, path: ConfigPath, g: GlobalConfig, baseDir: string) => IntegrationConfig> = {
  webhook_configs: parseWebhook,
  slack_configs: parseSlack,
  pagerduty_configs: parsePagerduty,
  email_configs: parseEmail,
};

const UNSUPPORTED_KINDS = [
  'opsgenie_configs', 'wechat_configs', 'pushover_configs', 'victorops_configs', 'sns_configs', 'telegram_configs', 'webex_configs',
  'discord_configs', 'msteams_configs', 'msteamsv2_configs', 'jira_configs', 'rocketchat_configs', 'incidentio_configs',
];

export function parseReceiver(v: unknown, path: ConfigPath, g: GlobalConfig, baseDir: string): ReceiverConfig {
  const raw = readMap(v, path, ['name', ...Object.keys(RECEIVER_KINDS), ...UNSUPPORTED_KINDS]);
  const name = readString(raw.name, [...path, 'name']);
  if (!name) throw new ConfigProblem(path, 'missing name in receiver');
  for (const kind of UNSUPPORTED_KINDS) {
    if (raw[kind] !== undefined) throw new ConfigProblem([...path, kind], `${kind} is not supported by Watchkeeper (supported: ${Object.keys(RECEIVER_KINDS).join(', ')})`);
  }
  const integrations: IntegrationConfig[] = [];
  for (const [kind, parse] of Object.entries(RECEIVER_KINDS)) {
    readList(raw[kind], [...path, kind]).forEach((c, i) => integrations.push(parse(c, [...path, kind, i], g, baseDir)));
  }
  return { name, integrations };
}

const GLOBAL_FIELDS = [
  'resolve_timeout', 'smtp_from', 'smtp_hello', 'smtp_smarthost', 'smtp_auth_username', 'smtp_auth_password', 'smtp_auth_password_file',
  'smtp_auth_secret', 'smtp_auth_identity', 'smtp_require_tls', 'slack_api_url', 'slack_api_url_file', 'pagerduty_url', 'http_config',
  'opsgenie_api_url', 'opsgenie_api_key', 'opsgenie_api_key_file', 'wechat_api_url', 'wechat_api_secret', 'wechat_api_corp_id',
  'victorops_api_url', 'victorops_api_key', 'victorops_api_key_file', 'telegram_api_url', 'webex_api_url',
];

export function parseGlobal(v: unknown, path: ConfigPath, baseDir: string, readDurationMs: (v: unknown, p: ConfigPath) => number | undefined): GlobalConfig {
  const raw = readMap(v, path, GLOBAL_FIELDS);
  const str = (key: string) => readString(raw[key], [...path, key]) ?? null;
  return {
    resolveTimeoutMs: readDurationMs(raw.resolve_timeout, [...path, 'resolve_timeout']) ?? 5 * 60_000,
    smtpFrom: str('smtp_from'),
    smtpHello: str('smtp_hello') ?? 'localhost',
    smtpSmarthost: str('smtp_smarthost'),
    smtpAuthUsername: str('smtp_auth_username'),
    smtpAuthPassword: secret(raw, 'smtp_auth_password', path, baseDir) ?? null,
    smtpAuthIdentity: str('smtp_auth_identity'),
    smtpRequireTls: readBool(raw.smtp_require_tls, [...path, 'smtp_require_tls']) ?? true,
    slackApiUrl: secret(raw, 'slack_api_url', path, baseDir) ?? null,
    pagerdutyUrl: readUrl(raw.pagerduty_url, [...path, 'pagerduty_url']) ?? 'https://events.pagerduty.com/v2/enqueue',
    httpConfig: parseHttpConfig(raw.http_config, [...path, 'http_config'], baseDir, null),
  };
}
