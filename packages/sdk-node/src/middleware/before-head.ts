/**
 * A callback run just before a response's head is written (to set X-Process-Time and read the
 * route), for the Express and node:http adapters. `ServerResponse.prototype.writeHead` is wrapped
 * once, and the callbacks kept in a WeakMap: a `writeHead` property set on every response cost
 * several microseconds a request with Express, whose responses have their prototype replaced
 * (stores on such objects take V8's slow path).
 */
import { ServerResponse } from 'node:http';

type BeforeHead = (res: ServerResponse) => void;

const callbacks = new WeakMap<ServerResponse, BeforeHead>();
let installed = false;

/** Runs `fn` once, just before the head of `res` is written (explicitly or by the first write). */
export function beforeHead(res: ServerResponse, fn: BeforeHead): void {
  if (!installed) install();
  callbacks.set(res, fn);
}

function install(): void {
  installed = true;
  const writeHead = ServerResponse.prototype.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  // Responses without a callback pass through at the cost of one WeakMap miss; the wrapper stays
  // after shutdown (a later init() reuses it) since other code may have wrapped writeHead since.
  ServerResponse.prototype.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const fn = callbacks.get(this);
    if (fn !== undefined) {
      callbacks.delete(this);
      if (!this.headersSent) fn(this);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
}
