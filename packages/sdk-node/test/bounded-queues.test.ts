/**
 * Bounded queues: when spans and log records come faster than the endpoint takes them, the SDK
 * drops beyond its queue sizes and counts the drops instead of growing memory.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Watchkeeper } from '../src/index.js';
import { memoryDestination, waitFor } from './support/telemetry-receiver.js';

let slowEndpoint: Server;
let service: Server;
let wk: Watchkeeper;
let base = '';

beforeAll(async () => {
  // An endpoint that answers after a while: exports stay in flight while the queues fill.
  slowEndpoint = createServer((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(), 300);
  });
  await new Promise<void>((r) => slowEndpoint.listen(0, '127.0.0.1', r));
  const a = slowEndpoint.address();
  wk = init({
    service: 'bounded',
    endpoint: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
    tracing: { maxQueueSize: 4 },
    logging: { destination: memoryDestination(), maxQueueSize: 4 },
    errors: false,
    env: {},
  });
  service = createServer(wk.httpHandler((_req, res) => void res.writeHead(200).end('ok')));
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const s = service.address();
  base = `http://127.0.0.1:${typeof s === 'object' && s ? s.port : 0}`;
});

afterAll(async () => {
  await new Promise((r) => service?.close(r));
  await wk?.shutdown();
  slowEndpoint.closeAllConnections();
  await new Promise((r) => slowEndpoint.close(r));
});

describe('bounded queues', () => {
  it('drops spans and log records beyond the queue sizes, counted by reason', async () => {
    for (let i = 0; i < 40; i++) wk.logger.info({ i }, 'burst');
    let text = '';
    await waitFor(async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${base}/items/${i}`)));
      text = await (await fetch(`${base}/metrics`)).text();
      return text.includes('signal="traces",reason="queue_full"');
    }, 15_000);
    const value = (labels: string) => Number(new RegExp(`^watchkeeper_sdk_dropped_total\\{${labels}\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    expect(value('signal="logs",reason="queue_full"')).toBeGreaterThanOrEqual(36);
    expect(value('signal="traces",reason="queue_full"')).toBeGreaterThan(0);
  });
});
