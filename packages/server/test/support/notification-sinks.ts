/**
 * Local receivers for notification tests: an HTTP server recording every POST (webhook, Slack and
 * PagerDuty shapes alike) and a real SMTP server (npm smtp-server) recording every message.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  readonly path: string;
  readonly body: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Unix ms at arrival. */
  readonly at: number;
}

export interface HttpSink {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Answers the next `n` requests with this status instead of 200. */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const received: ReceivedRequest[] = [];
  let failures = 0;
  let failStatus = 500;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus).end('failing on purpose');
        return;
      }
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: keep the text.
      }
      received.push({ path: req.url ?? '', body, headers: req.headers, at: Date.now() });
      res.writeHead(req.url?.includes('enqueue') ? 202 : 200).end(req.url?.includes('services') ? 'ok' : '{}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    failNext(n, status) {
      failures = n;
      failStatus = status;
    },
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

export interface ReceivedMail {
  readonly from: string;
  readonly to: string[];
  readonly data: string;
  readonly user: string | null;
  readonly secure: boolean;
}

export interface SmtpSink {
  readonly port: number;
  readonly received: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server with STARTTLS (its built-in self-signed certificate, unless `noStartTls`) and
 * optional AUTH.
 */
export async function startSmtpSink(auth?: { user: string; pass: string }, opts: { noStartTls?: boolean } = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: !auth,
    disabledCommands: [...(auth ? [] : ['AUTH']), ...(opts.noStartTls ? ['STARTTLS'] : [])],
    logger: false,
    onAuth(a, _session, cb) {
      if (auth && a.username === auth.user && a.password === auth.pass) cb(null, { user: a.username });
      else cb(new Error('invalid credentials'));
    },
    onData(stream, session, cb) {
      let data = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (data += d));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
          user: typeof session.user === 'string' ? session.user : null,
          secure: session.secure,
        });
        cb();
      });
    },
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise((ok) => server.close(() => ok())) };
}
