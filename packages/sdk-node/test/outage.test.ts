/**
 * Watchkeeper down: the host keeps serving, the SDK drops what it cannot export with a counter,
 * keeps captured errors queued, and delivers again once the receiver is back on the same port.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../server/test/support/watchkeeper-process.js';
import { init, type Watchkeeper } from '../src/index.js';
import { memoryDestination, TelemetryReceiver, waitFor } from './support/telemetry-receiver.js';

const receiver = new TelemetryReceiver();
let wk: Watchkeeper;
let server: Server;
let base = '';
let receiverPort = 0;

beforeAll(async () => {
  receiverPort = await freePort();
  wk = init({
    service: 'outage-test',
    endpoint: `http://127.0.0.1:${receiverPort}`,
    dsn: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${receiverPort}/1`,
    logging: { destination: memoryDestination() },
    errors: { captureUncaught: false },
    env: {},
  });
  server = createServer(
    wk.httpHandler((req, res) => {
      if (req.url === '/fail') throw new Error('handler failed while the backend was down');
      wk.logger.info('served');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await wk?.shutdown();
  await receiver.stop();
});

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('@watchkeeper/node while Watchkeeper is down', () => {
  it('keeps serving, drops exports with a counter, and queues errors', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/items/${i}`)).status).toBe(200);
    expect((await fetch(`${base}/fail`)).status).toBe(500);
    expect(await wk.flush(2000)).toBe(false);
    // The OTLP exporter retries network errors with backoff until its 5 s timeout, then gives up.
    let text = '';
    await waitFor(async () => {
      text = await (await fetch(`${base}/metrics`)).text();
      return text.includes('signal="traces",reason="export_failed"') && text.includes('signal="logs",reason="export_failed"');
    }, 20_000);
    expect(metricValue(text, 'watchkeeper_sdk_dropped_total{signal="traces",reason="export_failed"}')).toBeGreaterThan(0);
    expect(metricValue(text, 'watchkeeper_sdk_dropped_total{signal="logs",reason="export_failed"}')).toBeGreaterThan(0);
    expect(text).toContain('http_requests_total{method="GET",route="/items/:id",status="200"} 5');
    expect(text).toContain('http_requests_total{method="GET",route="/fail",status="500"} 1');
  });

  it('catches up when the receiver returns: queued errors and new telemetry arrive', async () => {
    await receiver.start(receiverPort);
    expect((await fetch(`${base}/items/9`, { headers: { 'x-request-id': 'after-outage' } })).status).toBe(200);
    expect(await waitFor(async () => (await wk.flush(2000)) && receiver.events().length > 0, 10_000)).toBe(true);
    const event = receiver.events().find((e) => JSON.stringify(e.exception).includes('handler failed while the backend was down'));
    expect(event).toBeDefined();
    expect(event!.tags).toMatchObject({ request_id: expect.any(String) });
    expect(receiver.spans.some((s) => s.attributes.request_id === 'after-outage')).toBe(true);
    expect(receiver.logs.some((l) => l.body === 'served')).toBe(true);
  });
});
