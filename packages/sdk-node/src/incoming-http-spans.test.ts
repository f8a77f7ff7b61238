/** The SERVER span of incoming requests: parent from traceparent, attributes, route, errors, aborts, body events in context. */
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import http, { type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceIncomingHttp } from './incoming-http-spans.js';
import { waitFor } from '../test/support/telemetry-receiver.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let untrace: () => void = () => {};
let server: Server;
let port = 0;
let spanAtBodyEnd: string | undefined;
let requestHasOwnEmit: boolean | undefined;
const unpatched = { serverEmit: http.Server.prototype.emit, requestEmit: http.IncomingMessage.prototype.emit };

beforeAll(async () => {
  provider.register();
  untrace = traceIncomingHttp(provider.getTracer('test'), (path) => path === '/healthz');
  server = http.createServer((req, res) => {
    if (req.url === '/upload') {
      requestHasOwnEmit = Object.hasOwn(req, 'emit');
      req.resume();
      req.on('end', () => {
        spanAtBodyEnd = trace.getActiveSpan()?.spanContext().spanId;
        res.end('stored');
      });
    } else if (req.url?.startsWith('/items/')) {
      const rpc = getRPCMetadata(context.active());
      if (rpc) rpc.route = '/items/:id';
      res.end('item');
    } else if (req.url === '/unavailable') res.writeHead(503).end();
    else if (req.url !== '/hang') res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
});

afterAll(async () => {
  untrace();
  // Undone, nothing of the patches stays on Node's prototypes.
  expect({ serverEmit: http.Server.prototype.emit, requestEmit: http.IncomingMessage.prototype.emit }).toEqual(unpatched);
  expect(Object.hasOwn(http.IncomingMessage.prototype, 'emit')).toBe(false);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const spansNamed = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

describe('incoming HTTP spans', () => {
  it('continues the caller trace and names the span by route, with the HTTP attributes', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`http://127.0.0.1:${port}/items/7?ref=mail`, { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, 'user-agent': 'probe/1.0' } });
    expect(await res.text()).toBe('item');
    expect(await waitFor(() => spansNamed('GET /items/:id').length === 1)).toBe(true);
    const span = spansNamed('GET /items/:id')[0]!;
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/items/7',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': port,
      'client.address': '127.0.0.1',
      'user_agent.original': 'probe/1.0',
      'http.route': '/items/:id',
      'http.response.status_code': 200,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('runs request body listeners in the request span', async () => {
    const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST' });
    const answered = new Promise<void>((r) => req.on('response', (res) => (res.resume(), res.on('end', r))));
    req.write('first part ');
    await new Promise((r) => setTimeout(r, 50));
    req.end('second part');
    await answered;
    expect(await waitFor(() => spansNamed('POST').length === 1)).toBe(true);
    expect(spanAtBodyEnd).toBe(spansNamed('POST')[0]!.spanContext().spanId);
    // Through IncomingMessage's prototype: a function of its own on every request made Node 24 keep requests past scavenges.
    expect(requestHasOwnEmit).toBe(false);
  });

  it('marks 5xx answers as errors, ends the span of an aborted request, and skips ignored paths', async () => {
    await (await fetch(`http://127.0.0.1:${port}/unavailable`)).text();
    await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    const aborted = new AbortController();
    const hanging = fetch(`http://127.0.0.1:${port}/hang`, { signal: aborted.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 100));
    aborted.abort();
    expect(await hanging).toBe('aborted');
    expect(await waitFor(() => spansNamed('GET').filter((s) => s.attributes['url.path'] === '/hang').length === 1)).toBe(true);
    const failed = spansNamed('GET').find((s) => s.attributes['url.path'] === '/unavailable');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('503');
    expect(exporter.getFinishedSpans().some((s) => s.attributes['url.path'] === '/healthz')).toBe(false);
  });
});
