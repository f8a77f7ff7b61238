/**
 * The demo's notification receiver: accepts Alertmanager webhook (v4) posts on any path (the path
 * names the receiver: pager, team, catch-all) and prints one line per alert in each notification.
 */
import { createServer } from 'node:http';

const MAX_BODY_BYTES = 1 << 20;

/** One printed line for an alert of a webhook payload. */
export function describeAlert(receiver, alert) {
  const { alertname = '?', severity, ...labels } = alert.labels ?? {};
  const where = Object.entries(labels)
    .filter(([k]) => k !== 'env' && k !== 'instance')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const summary = alert.annotations?.summary ?? '';
  const state = alert.status === 'resolved' ? 'RESOLVED' : 'FIRING  ';
  return `[alert → ${receiver}] ${state} ${alertname}${severity ? ` (${severity})` : ''}${where ? ` ${where}` : ''}${summary ? ` — ${summary}` : ''}`;
}

/**
 * Starts the receiver on 127.0.0.1:`port` (0: a free port); `print` gets each line.
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export async function startWebhookReceiver(port, print) {
  /** Last status printed per receiver and alert fingerprint. */
  const printed = new Map();
  const server = createServer((req, res) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      let payload;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('expected a JSON webhook payload');
        return;
      }
      const receiver = (req.url ?? '/').split('?')[0].replace(/^\/+/, '') || 'webhook';
      for (const alert of Array.isArray(payload.alerts) ? payload.alerts : []) {
        // A notification repeats every alert of its group: print only what changed.
        const key = `${receiver} ${alert.fingerprint ?? JSON.stringify(alert.labels)}`;
        if (printed.get(key) === alert.status) continue;
        printed.set(key, alert.status);
        print(describeAlert(receiver, alert));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () => new Promise((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}
