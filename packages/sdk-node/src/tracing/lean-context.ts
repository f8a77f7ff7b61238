/**
 * An immutable OpenTelemetry Context as a chain of links: `setValue` allocates one small object,
 * where the API's BaseContext copies its whole Map and creates three closures. A request derives
 * a few contexts (remote parent, span, RPC metadata, request), so lookups walk a short chain.
 */
import type { Context } from '@opentelemetry/api';

const NO_KEY = Symbol('@watchkeeper/node root context');

/** One link: `key` set to `value` (undefined when deleted) on top of `parent`. */
export class LeanContext implements Context {
  constructor(
    private readonly parent: LeanContext | null,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}

  getValue(key: symbol): unknown {
    for (let c: LeanContext | null = this; c !== null; c = c.parent) if (c.key === key) return c.value;
    return undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return new LeanContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return this.getValue(key) === undefined ? this : new LeanContext(this, key, undefined);
  }
}

/** The empty context the SDK derives request contexts from. */
export const LEAN_ROOT_CONTEXT: Context = new LeanContext(null, NO_KEY, undefined);
