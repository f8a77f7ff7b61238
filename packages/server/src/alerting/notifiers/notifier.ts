/**
 * What every notifier shares: the notification it is given, the error it throws (retryable or not,
 * with a reason for metrics), Alertmanager's template data, Go's time format, and an HTTP POST that
 * honours the http_config subset (Authorization, insecure_skip_verify) with a timeout.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { labelsToRecord, type Labels } from '../../model/labels.js';
import { GoTime, KV, type TemplateSet } from '../../template/index.js';
import type { Alert } from '../alert.js';
import type { HttpClientConfig } from '../config/receivers-config.js';

/** One notification to one integration. */
export interface Notification {
  readonly groupKey: string;
  readonly receiver: string;
  readonly groupLabels: Labels;
  /** Firing alerts have endsAt 0; resolved alerts an endsAt in the past. */
  readonly alerts: readonly Alert[];
  readonly externalUrl: string;
  readonly templates: TemplateSet;
}

export type FailureReason = 'clientError' | 'serverError' | 'other';

export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly reason: FailureReason,
  ) {
    super(message);
  }
}

export interface Notifier {
  /** `webhook`, `slack`, `pagerduty` or `email`. */
  readonly integration: string;
  readonly sendResolved: boolean;
  /** Sends; throws NotifyError on failure. */
  notify(n: Notification): Promise<void>;
}

/** Go's RFC3339Nano as encoding/json writes time.Time (zero time for 0). */
export function formatGoJsonTime(ms: number): string {
  if (ms === 0) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

export function alertStatus(a: Alert): 'firing' | 'resolved' {
  return a.endsAt === 0 ? 'firing' : 'resolved';
}

function commonPairs(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** Alertmanager's template.Alert, with Go field names. */
export interface TemplateAlert {
  readonly Status: string;
  readonly Labels: KV;
  readonly Annotations: KV;
  readonly StartsAt: GoTime;
  readonly EndsAt: GoTime;
  readonly GeneratorURL: string;
  readonly Fingerprint: string;
}

export type TemplateAlerts = TemplateAlert[] & { Firing(): TemplateAlerts; Resolved(): TemplateAlerts };

function templateAlerts(list: TemplateAlert[]): TemplateAlerts {
  return Object.assign(list, {
    Firing: () => templateAlerts(list.filter((a) => a.Status === 'firing')),
    Resolved: () => templateAlerts(list.filter((a) => a.Status === 'resolved')),
  });
}

/** Alertmanager's template.Data for a notification. */
export interface TemplateData {
  readonly Receiver: string;
  readonly Status: string;
  readonly Alerts: TemplateAlerts;
  readonly GroupLabels: KV;
  readonly CommonLabels: KV;
  readonly CommonAnnotations: KV;
  readonly ExternalURL: string;
}

export function templateData(n: Notification): TemplateData {
  const labels = n.alerts.map((a) => labelsToRecord(a.labels));
  return {
    Receiver: n.receiver,
    Status: n.alerts.some((a) => a.endsAt === 0) ? 'firing' : 'resolved',
    Alerts: templateAlerts(
      n.alerts.map((a) => ({
        Status: alertStatus(a),
        Labels: KV.of(labelsToRecord(a.labels)),
        Annotations: KV.of(a.annotations),
        StartsAt: new GoTime(a.startsAt),
        // Firing alerts carry Go's zero time as EndsAt, as in Alertmanager.
        EndsAt: a.endsAt === 0 ? GoTime.zero() : new GoTime(a.endsAt),
        GeneratorURL: a.generatorURL,
        Fingerprint: a.fingerprint,
      })),
    ),
    GroupLabels: KV.of(labelsToRecord(n.groupLabels)),
    CommonLabels: KV.of(commonPairs(labels)),
    CommonAnnotations: KV.of(commonPairs(n.alerts.map((a) => a.annotations))),
    ExternalURL: n.externalUrl,
  };
}

/** Renders template text against the notification's data; errors become non-retryable NotifyErrors. */
export function templateRenderer(n: Notification): (text: string) => Promise<string> {
  const data = templateData(n);
  return async (text: string) => {
    if (!text.includes('{{')) return text;
    try {
      return await n.templates.executeText('notification', text, data);
    } catch (err) {
      throw new NotifyError(`template: ${(err as Error).message}`, false, 'other');
    }
  };
}

const TIMEOUT_MS = 10_000;

/** POSTs a body; a 2xx answer succeeds, 429 and 5xx are retryable, other statuses are not. */
export function postBody(url: string, body: string, contentType: string, http: HttpClientConfig): Promise<string> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new NotifyError(`invalid URL ${url}`, false, 'other'));
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)), 'User-Agent': 'Watchkeeper' };
    if (http.authorization) headers.Authorization = http.authorization;
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method: 'POST', headers, timeout: TIMEOUT_MS, rejectUnauthorized: !http.insecureSkipVerify }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < 1024) text += d;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(text);
        const retryable = status === 429 || status >= 500;
        reject(new NotifyError(`unexpected status code ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, retryable, status >= 500 ? 'serverError' : 'clientError'));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new NotifyError(err.message, true, 'other')));
    req.end(body);
  });
}
