/**
 * A SERVER span per incoming HTTP request, started where Node emits the request (so framework and
 * library spans nest under it, with or without the SDK's middleware) and named after the route
 * template the framework matched. It replaces the incoming half of the OpenTelemetry http
 * instrumentation, which cost several times more per request (docs/benchmarks.md): it records
 * the stable HTTP semantic-convention attributes and the request id only, and runs only the request's events in the
 * request context (the response's events already run in it). The route and the request id
 * reach the span through the context's RPC metadata, as with the official instrumentation.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Tracer } from '@opentelemetry/api';
import { RPCType, setRPCMetadata, suppressTracing, type RPCMetadata } from '@opentelemetry/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { requestContextOf, withRequest } from './request-context.js';
import { LEAN_ROOT_CONTEXT } from './tracing/lean-context.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

type Emit<T> = (this: T, event: string | symbol, ...args: unknown[]) => boolean;

/** The context of a traced incoming request, kept on the request for its body events. */
const REQUEST_CONTEXT = Symbol('@watchkeeper/node request context');
type ContextCarrier = IncomingMessage & { [REQUEST_CONTEXT]?: Context };

/** Patches http and https servers to trace incoming requests; returns the function undoing it. */
export function traceIncomingHttp(tracer: Tracer, ignore: (path: string) => boolean): () => void {
  const require = createRequire(import.meta.url);
  const http = require('node:http') as typeof import('node:http');
  const undo = [http, require('node:https') as typeof import('node:https')].map(({ Server }) =>
    patchEmit(Server.prototype as Server, (original) =>
      function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
        if (event !== 'request') return original.call(this, event, ...args);
        const [req, res] = args as [IncomingMessage, ServerResponse];
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const path = q < 0 ? url : url.slice(0, q);
        if (ignore(path)) return context.with(suppressTracing(context.active()), () => original.call(this, event, ...args));
        const ctx = startServerSpan(tracer, req, res, path);
        (req as ContextCarrier)[REQUEST_CONTEXT] = ctx;
        return context.with(ctx, () => original.call(this, event, ...args));
      },
    ),
  );
  const undoBodyEvents = runBodyEventsInRequestContext(http.IncomingMessage.prototype);
  return () => {
    undo.forEach((u) => u());
    undoBodyEvents();
  };
}

/**
 * Body events come from the socket, outside the request's context: IncomingMessage's emit runs
 * them in the context of their request (so do the handlers that body parsers call from 'end').
 * One wrapper on the prototype costs less than binding every listener (context.bind), and a
 * wrapper per request, an own function property of every request, made Node 24 keep requests
 * past scavenges (5 KB a request more copied and promoted, the young generation growing to 100 MB).
 */
function runBodyEventsInRequestContext(proto: ContextCarrier): () => void {
  return patchEmit(proto, (emit) =>
    function (this: ContextCarrier, event: string | symbol, ...args: unknown[]) {
      const ctx = this[REQUEST_CONTEXT];
      // Most of a request's events ('resume', 'end', 'close') have no listener: entering the context costs more than the emit.
      return ctx === undefined || this.listenerCount(event) === 0 ? emit.call(this, event, ...args) : context.with(ctx, emit, this, event, ...args);
    },
  );
}

function startServerSpan(tracer: Tracer, req: IncomingMessage, res: ServerResponse, path: string) {
  const method = req.method !== undefined && KNOWN_METHODS.has(req.method) ? req.method : '_OTHER';
  const host = req.headers.host ?? '';
  const colon = host.lastIndexOf(':');
  const attributes: Record<string, string | number> = {
    'http.request.method': method,
    'url.path': path,
    'url.scheme': (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    'server.address': colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host,
    'network.protocol.version': req.httpVersion,
  };
  if (colon > 0 && !host.endsWith(']')) attributes['server.port'] = Number(host.slice(colon + 1));
  if (req.socket.remoteAddress) attributes['client.address'] = req.socket.remoteAddress;
  const agent = req.headers['user-agent'];
  if (agent) attributes['user_agent.original'] = agent;
  const parent = propagation.extract(LEAN_ROOT_CONTEXT, req.headers);
  const request = requestContextOf(req);
  attributes.request_id = request.requestId;
  const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
  const rpc: RPCMetadata = { type: RPCType.HTTP, span };
  // 'close' comes after 'finish', and also when the client went away before the response ended;
  // it comes once, so a plain listener does (once() wraps it in two more objects).
  res.on('close', () => {
    const status = res.statusCode;
    span.setAttribute('http.response.status_code', status);
    if (rpc.route !== undefined) {
      span.setAttribute('http.route', rpc.route);
      span.updateName(`${method} ${rpc.route}`);
    }
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });
  // The request context rides in the same context: the middleware finds it there instead of adding its own.
  return withRequest(setRPCMetadata(trace.setSpan(parent, span), rpc), request);
}

/** Replaces `proto.emit` with `wrap(previous)`; returns the function restoring the previous state. */
function patchEmit<T extends { emit: unknown }>(proto: T, wrap: (original: Emit<T>) => Emit<T>): () => void {
  const own = Object.getOwnPropertyDescriptor(proto, 'emit');
  const original = proto.emit as Emit<T>;
  proto.emit = wrap(original) as T['emit'];
  return () => {
    if (own) Object.defineProperty(proto, 'emit', own);
    else delete (proto as { emit?: unknown }).emit;
  };
}
