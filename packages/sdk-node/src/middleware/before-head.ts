/**
 * A callback run just before a response's head is written (to set X-Process-Time and read the
 * route), for the Express and node:http adapters. `ServerResponse.prototype.writeHead` is wrapped
 * once and finds the callback on the request context it runs in: a `writeHead` property, or a
 * WeakMap entry, on every response cost several microseconds a request with Express, whose
 * responses have their prototype replaced (V8 then takes its slow path for both).
 */
import { ServerResponse } from 'node:http';
import { requestStore, type RequestContext } from '../request-context.js';

type BeforeHead = (res: ServerResponse) => void;

const HOOK = Symbol('@watchkeeper/node before head');
type Hooked = RequestContext & { [HOOK]?: { res: ServerResponse; fn: BeforeHead } | null };
let installed = false;

/** Runs `fn` once, just before the head of `res` is written in the context of `request`. */
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
      if (!this.headersSent) hook.fn(this);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}
