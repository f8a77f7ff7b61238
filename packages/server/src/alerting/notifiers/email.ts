/**
 * The email notifier: SMTP through nodemailer, with Alertmanager's choices: STARTTLS required unless
 * `require_tls: false` (then plain), implicit TLS on port 465, AUTH when a username is configured,
 * templated headers (Subject, To, From) and an HTML body (plus a text part when configured).
 */
import { createTransport } from 'nodemailer';
import type { EmailConfig } from '../config/receivers-config.js';
import { NotifyError, templateRenderer, type Notification, type Notifier } from './notifier.js';

const TIMEOUT_MS = 10_000;

export class EmailNotifier implements Notifier {
  readonly integration = 'email';
  readonly sendResolved: boolean;

  constructor(private readonly conf: EmailConfig) {
    this.sendResolved = conf.sendResolved;
  }

  async notify(n: Notification): Promise<void> {
    const c = this.conf;
    const t = templateRenderer(n);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.headers)) headers[k] = await t(v);
    const { Subject: subject = '', To: to = c.to, From: from = c.from, ...extra } = headers;
    const colon = c.smarthost.lastIndexOf(':');
    const host = c.smarthost.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(c.smarthost.slice(colon + 1));
    const transport = createTransport({
      host,
      port,
      secure: port === 465,
      requireTLS: c.requireTls && port !== 465,
      ignoreTLS: !c.requireTls,
      name: c.hello,
      auth: c.authUsername ? { user: c.authUsername, pass: c.authPassword ?? '' } : undefined,
      tls: { rejectUnauthorized: !c.insecureSkipVerify },
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: TIMEOUT_MS,
    });
    try {
      await transport.sendMail({
        from,
        to,
        subject,
        headers: extra,
        html: c.html ? await t(c.html) : undefined,
        text: c.text ? await t(c.text) : undefined,
      });
    } catch (err) {
      if (err instanceof NotifyError) throw err;
      const e = err as Error & { responseCode?: number };
      const code = e.responseCode ?? 0;
      // SMTP 4xx replies are transient, 5xx permanent; connection problems are worth retrying.
      throw new NotifyError(`send email: ${e.message}`, code === 0 || (code >= 400 && code < 500), code >= 500 ? 'clientError' : code >= 400 ? 'serverError' : 'other');
    } finally {
      transport.close();
    }
  }
}
