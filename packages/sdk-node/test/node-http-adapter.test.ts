/**
 * The node:http adapter: X-Request-ID and X-Process-Time on responses written synchronously, later
 * from a timer, or after awaits (the head hook finds the request through its context), and on no
 * response of a server the SDK does not wrap. X-Process-Time joins the fields given to writeHead
 * (object or array, with or without a reason phrase) without changing the caller's object.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, type Watchkeeper } from '../src/index.js';
import { memoryDestination } from './support/telemetry-receiver.js';

let wk: Watchkeeper;
let wrapped: Server;
let plain: Server;
/** Fields one handler passes to every writeHead: the SDK must not add its header to them. */
const sharedHeaders = Object.freeze({ 'content-type': 'text/plain' });
const urlOf = (s: Server) => {
  const a = s.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
};

beforeAll(async () => {
  wk = init({ service: 'node-http', tracing: false, errors: false, logging: { destination: memoryDestination() }, env: {} });
  wrapped = createServer(
    wk.httpHandler(async (req, res) => {
      if (req.url === '/timer') setTimeout(() => res.writeHead(200).end('later'), 5);
      else if (req.url === '/shared') res.writeHead(200, sharedHeaders).end('shared');
      else if (req.url === '/array') res.writeHead(200, 'Fine', ['content-type', 'text/plain', 'x-extra', '1']).end('array');
      else if (req.url === '/own') res.writeHead(200, { 'X-Process-Time': 'own' }).end('own');
      else if (req.url === '/await') {
        await new Promise((r) => setImmediate(r));
        await Promise.resolve();
        res.end('awaited');
      } else res.end('now');
    }),
  );
  plain = createServer((_req, res) => res.end('plain'));
  await Promise.all([wrapped, plain].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
});

afterAll(async () => {
  await Promise.all([wrapped, plain].map((s) => new Promise((r) => s.close(r))));
  await wk.shutdown();
});

describe('node:http adapter', () => {
  it('sets X-Request-ID and X-Process-Time however the handler answers', async () => {
    for (const path of ['/now', '/timer', '/await']) {
      const res = await fetch(`${urlOf(wrapped)}${path}`, { headers: { 'x-request-id': `id${path.replace('/', '-')}` } });
      await res.text();
      expect(res.headers.get('x-request-id')).toBe(`id${path.replace('/', '-')}`);
      expect(res.headers.get('x-process-time')).toMatch(/^\d+\.\d{6}$/);
    }
  });

  it('adds X-Process-Time to the fields given to writeHead, which keep theirs', async () => {
    for (const path of ['/shared', '/array']) {
      const res = await fetch(`${urlOf(wrapped)}${path}`);
      expect(await res.text()).toBe(path.slice(1));
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(res.headers.get('x-process-time')).toMatch(/^\d+\.\d{6}$/);
    }
    expect(sharedHeaders).toEqual({ 'content-type': 'text/plain' });
    const array = await fetch(`${urlOf(wrapped)}/array`);
    expect([array.statusText, array.headers.get('x-extra')]).toEqual(['Fine', '1']);
    const own = await fetch(`${urlOf(wrapped)}/own`);
    expect(own.headers.get('x-process-time')).toBe('own');
  });

  it('leaves the responses of other servers alone', async () => {
    const res = await fetch(urlOf(plain));
    expect(await res.text()).toBe('plain');
    expect(res.headers.get('x-process-time')).toBeNull();
    expect(res.headers.get('x-request-id')).toBeNull();
  });
});
