/**
 * Redaction of secrets in log lines, as a pino `formatters.log` hook: `password`, `token` and
 * `authorization` at the top level and one level down, and the `authorization`, `cookie` and
 * `x-api-key` headers under `headers` and `req.headers`. pino's own `redact` option compiles such
 * wildcard paths into a stringifier for every field of every line, which doubled the cost of a
 * line (docs/benchmarks.md); this walks the few fields once and copies only what it changes.
 */
import pino from 'pino';

/** The replacement of redacted values. */
export const REDACTED = '[Filtered]';
const SECRET_FIELDS = new Set(['password', 'token', 'authorization']);
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'x-api-key']);

type Fields = Record<string, unknown>;

/** `obj` itself when it holds no secret, else a copy with every secret replaced. */
export function redactSecrets(obj: Fields): Fields {
  let out: Fields | null = null;
  for (const key in obj) {
    const value = obj[key];
    let replacement: unknown = value;
    if (SECRET_FIELDS.has(key)) replacement = REDACTED;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      replacement = redactNested(key, value as Fields);
    }
    if (replacement !== value) {
      out ??= { ...obj };
      out[key] = replacement;
    }
  }
  return out ?? obj;
}

/** One level down: the secret fields, plus the secret headers of `headers` and `req.headers`. */
function redactNested(parentKey: string, value: Fields): unknown {
  const headers = parentKey === 'headers' ? SECRET_HEADERS : null;
  let out: Fields | null = null;
  for (const key in value) {
    let replacement: unknown = value[key];
    if (SECRET_FIELDS.has(key) || headers?.has(key)) replacement = REDACTED;
    else if (parentKey === 'req' && key === 'headers' && typeof replacement === 'object' && replacement !== null) replacement = redactNested('headers', replacement as Fields);
    if (replacement !== value[key]) {
      // An Error keeps its message and stack in fields a spread would lose: serialize it first.
      out ??= value instanceof Error ? (pino.stdSerializers.err(value) as unknown as Fields) : { ...value };
      out[key] = replacement;
    }
  }
  return out ?? value;
}
