/** The Slack notifier: one attachment posted to an incoming webhook, as Alertmanager builds it. */
import type { SlackConfig } from '../config/receivers-config.js';
import { postBody, templateRenderer, type Notification, type Notifier } from './notifier.js';

/** Slack truncates titles; Alertmanager cuts them to 1024 runes first. */
const MAX_TITLE_RUNES = 1024;

function truncateRunes(s: string, n: number): string {
  const runes = [...s];
  return runes.length <= n ? s : `${runes.slice(0, n - 1).join('')}…`;
}

/** Drops empty strings and empty lists, like Go's `omitempty`. */
function omitEmpty(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== '' && v !== false && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  return out;
}

export class SlackNotifier implements Notifier {
  readonly integration = 'slack';
  readonly sendResolved: boolean;

  constructor(private readonly conf: SlackConfig) {
    this.sendResolved = conf.sendResolved;
  }

  /** The request body Slack receives. */
  async payload(n: Notification): Promise<Record<string, unknown>> {
    const t = templateRenderer(n);
    const c = this.conf;
    const fields = await Promise.all(c.fields.map(async (f) => ({ title: await t(f.title), value: await t(f.value), short: f.short || c.shortFields })));
    // Field order and omission as Alertmanager's attachment struct: text, fallback, callback_id and
    // footer are always present, the rest only when not empty.
    const attachment = {
      ...omitEmpty({ title: truncateRunes(await t(c.title), MAX_TITLE_RUNES), title_link: await t(c.titleLink), pretext: await t(c.pretext) }),
      text: await t(c.text),
      fallback: await t(c.fallback),
      callback_id: await t(c.callbackId),
      ...omitEmpty({ fields, image_url: await t(c.imageUrl), thumb_url: await t(c.thumbUrl) }),
      footer: await t(c.footer),
      ...omitEmpty({ color: await t(c.color), mrkdwn_in: c.mrkdwnIn.length > 0 ? c.mrkdwnIn : ['fallback', 'pretext', 'text'] }),
    };
    return omitEmpty({
      channel: await t(c.channel),
      username: await t(c.username),
      icon_emoji: await t(c.iconEmoji),
      icon_url: await t(c.iconUrl),
      link_names: c.linkNames,
      attachments: [attachment],
    });
  }

  async notify(n: Notification): Promise<void> {
    await postBody(this.conf.apiUrl, JSON.stringify(await this.payload(n)), 'application/json', this.conf.httpConfig);
  }
}
