/** The request in progress, carried through async calls so logs and errors can name it. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What the SDK knows about the request being served. */
export interface RequestContext {
  requestId: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Route template once the framework has matched it (null before, or when nothing matched). */
  route: string | null;
}

/** Storage of the current request; one per process, shared by logging, errors and middleware. */
export const requestStore = new AsyncLocalStorage<RequestContext>();

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/** The incoming X-Request-ID or X-Correlation-ID when it is a sane token, else a new UUID. */
export function requestIdFrom(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'] ?? headers['x-correlation-id'];
  const id = Array.isArray(given) ? given[0] : given;
  return id !== undefined && SAFE_ID.test(id) ? id : randomUUID();
}
