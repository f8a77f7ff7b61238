/**
 * The PagerDuty notifier (Events API v2): `trigger` while any alert of the group fires, `resolve`
 * when all are resolved, with the dedup key Alertmanager uses (SHA-256 of the group key), so
 * PagerDuty keeps one incident per group across repeats, restarts and resolution.
 */
import { createHash } from 'node:crypto';
import type { PagerdutyConfig } from '../config/receivers-config.js';
import { postBody, templateData, templateRenderer, type Notification, type Notifier } from './notifier.js';

const MAX_SUMMARY_RUNES = 1024;

/** Alertmanager's notify.Key.Hash(): hex SHA-256 of the group key. */
export function groupKeyHash(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex');
}

export class PagerdutyNotifier implements Notifier {
  readonly integration = 'pagerduty';
  readonly sendResolved: boolean;

  constructor(private readonly conf: PagerdutyConfig) {
    this.sendResolved = conf.sendResolved;
  }

  /** The Events API v2 request body. */
  async payload(n: Notification): Promise<Record<string, unknown>> {
    const t = templateRenderer(n);
    const c = this.conf;
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.details)) details[k] = await t(v);
    const summary = [...(await t(c.description))];
    // Alertmanager drops images without a src and links without an href, and omits empty lists.
    const images = [];
    for (const img of c.images) {
      const [src, alt, href] = [await t(img.src), await t(img.alt), await t(img.href)];
      if (src) images.push({ src, ...(alt ? { alt } : {}), ...(href ? { href } : {}) });
    }
    const links = [];
    for (const l of c.links) {
      const link = { href: await t(l.href), text: await t(l.text) };
      if (link.href) links.push(link);
    }
    return {
      routing_key: await t(c.routingKey),
      dedup_key: groupKeyHash(n.groupKey),
      event_action: templateData(n).Status === 'resolved' ? 'resolve' : 'trigger',
      payload: {
        summary: summary.length > MAX_SUMMARY_RUNES ? `${summary.slice(0, MAX_SUMMARY_RUNES - 1).join('')}…` : summary.join(''),
        source: await t(c.source),
        severity: await t(c.severity),
        custom_details: details,
        ...(c.class ? { class: await t(c.class) } : {}),
        ...(c.component ? { component: await t(c.component) } : {}),
        ...(c.group ? { group: await t(c.group) } : {}),
      },
      client: await t(c.client),
      client_url: await t(c.clientUrl),
      ...(images.length > 0 ? { images } : {}),
      ...(links.length > 0 ? { links } : {}),
    };
  }

  async notify(n: Notification): Promise<void> {
    await postBody(this.conf.url, JSON.stringify(await this.payload(n)), 'application/json', this.conf.httpConfig);
  }
}
