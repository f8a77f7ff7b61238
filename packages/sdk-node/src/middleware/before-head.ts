/**
 * X-Process-Time, computed just before a response's head is written (the last moment it can be
 * set). `ServerResponse.prototype.writeHead` is wrapped once and finds the callback on the request
 * context it runs in: a `writeHead` property, or a WeakMap entry, on every response cost several
 * microseconds a request with Express, whose responses have their prototype replaced (V8 then
 * takes its slow path for both). The header joins the fields passed to writeHead rather than going
 * through `setHeader`: one header set that way sends Node's writeHead down its slow path, which
 * validates and stores every other field again (Fastify passes all its fields to writeHead).
 */
import { ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { requestStore, type RequestContext } from '../request-context.js';

/** Runs just before the head of `res` goes out; returns the value of X-Process-Time. */
type BeforeHead = (res: ServerResponse) => string;

const HEADER = 'X-Process-Time';
const HOOK = Symbol('@watchkeeper/node before head');
type Hooked = RequestContext & { [HOOK]?: { res: ServerResponse; fn: BeforeHead } | null };
let installed = false;

/** Sets X-Process-Time to `fn(res)` on `res` just before its head is written in the context of `request`. */
export function beforeHead(request: RequestContext, res: ServerResponse, fn: BeforeHead): void {
  if (!installed) install();
  (request as Hooked)[HOOK] = { res, fn };
}

function install(): void {
  installed = true;
  const writeHead = ServerResponse.prototype.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  // Other responses pass through at the cost of a context lookup; the wrapper stays after
  // shutdown (a later init() reuses it) since other code may have wrapped writeHead since.
  ServerResponse.prototype.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const request = requestStore.getStore() as Hooked | undefined;
    const hook = request?.[HOOK];
    if (hook?.res === this) {
      request![HOOK] = null;
      if (!this.headersSent) withHeader(args, hook.fn(this));
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}

/**
 * Adds X-Process-Time to writeHead's arguments `(status[, reason][, headers])`: a copy of the
 * headers (the caller may reuse its object) in which a field the caller gave itself wins.
 */
function withHeader(args: unknown[], value: string): void {
  const at = typeof args[1] === 'string' ? 2 : 1;
  const given = args[at];
  if (Array.isArray(given)) args[at] = [HEADER, value, ...(given as unknown[])];
  else if (given !== null && typeof given === 'object') args[at] = { [HEADER]: value, ...(given as OutgoingHttpHeaders) };
  else args[at] = { [HEADER]: value };
}
