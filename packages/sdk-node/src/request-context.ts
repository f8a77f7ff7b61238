/** The request in progress, carried through async calls so logs and errors can name it. */
import { createContextKey, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** What the SDK knows about the request being served. */
export interface RequestContext {
  requestId: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Route template once the framework has matched it (null before, or when nothing matched). */
  route: string | null;
}

/**
 * The process's one context storage: the OpenTelemetry context (registered as the global context
 * manager while tracing is on), which also carries the request. One AsyncLocalStorage instead of
 * two halves the work Node does for every async resource a request creates.
 */
export const contextManager = new AsyncLocalStorageContextManager();
const REQUEST_KEY = createContextKey('@watchkeeper/node request');

/** The current request, as an AsyncLocalStorage-like store. */
export interface RequestStore {
  getStore(): RequestContext | undefined;
  /** Runs `fn` with `request` as the current request. */
  run<R>(request: RequestContext, fn: () => R): R;
  /** Runs `fn` outside any request (background work started from a request). */
  exit<R>(fn: () => R): R;
}

/** The current request; one per process, shared by logging, errors and middleware. */
export const requestStore: RequestStore = {
  getStore: () => contextManager.active().getValue(REQUEST_KEY) as RequestContext | undefined,
  run: (request, fn) => contextManager.with(contextManager.active().setValue(REQUEST_KEY, request), fn),
  exit: (fn) => contextManager.with(contextManager.active().deleteValue(REQUEST_KEY), fn),
};

/** `ctx` with `request` as its request: the SERVER span's context carries it from where Node emits the request. */
export function withRequest(ctx: Context, request: RequestContext): Context {
  return ctx.setValue(REQUEST_KEY, request);
}

/** The incoming request a context was made for (a symbol: RequestContext stays the public shape). */
const INCOMING = Symbol('@watchkeeper/node incoming request');

/** The request context of the request `req`, made from its headers. */
export function requestContextOf(req: IncomingMessage): RequestContext {
  return { requestId: requestIdFrom(req.headers), method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, route: null, [INCOMING]: req } as RequestContext;
}

/** Whether `request` was made for `req` by requestContextOf (an identity check: no header getter). */
export function isContextOf(request: RequestContext | undefined, req: IncomingMessage): request is RequestContext {
  return request !== undefined && (request as { [INCOMING]?: IncomingMessage })[INCOMING] === req;
}

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/** The incoming X-Request-ID or X-Correlation-ID when it is a sane token, else a new UUID. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'] ?? headers['x-correlation-id'];
  const id = Array.isArray(given) ? given[0] : given;
  return id !== undefined && SAFE_ID.test(id) ? id : randomUUID();
}
