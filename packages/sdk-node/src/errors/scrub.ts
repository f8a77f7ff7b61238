/** Default scrubbing of secrets from error events before they leave the process. */

const DEFAULT_FIELDS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'password', 'passwd', 'pwd', 'secret', 'token', 'api_key', 'apikey', 'access_token', 'refresh_token', 'credentials'];
/** The replacement of scrubbed values, as Sentry spells it. */
export const FILTERED = '[Filtered]';
const MAX_DEPTH = 8;

/** Builds a predicate matching sensitive keys (default names, plus any key containing password/token/secret). */
export function sensitiveKeyMatcher(extra: readonly string[] = []): (key: string) => boolean {
  const exact = new Set([...DEFAULT_FIELDS, ...extra.map((f) => f.toLowerCase())]);
  return (key) => {
    const k = key.toLowerCase();
    return exact.has(k) || k.includes('password') || k.includes('token') || k.includes('secret');
  };
}

/** Returns a copy of `value` with every sensitive key's value replaced by "[Filtered]"; cycles cut. */
export function scrub(value: unknown, isSensitive: (key: string) => boolean, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[Truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, isSensitive, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSensitive(k) ? FILTERED : scrub(v, isSensitive, depth + 1, seen);
  return out;
}

/** Query strings of URLs keep their keys but lose sensitive values. */
export function scrubUrl(url: string, isSensitive: (key: string) => boolean): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=');
      const key = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      return eq >= 0 && isSensitive(key) ? `${p.slice(0, eq)}=${encodeURIComponent(FILTERED)}` : p;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}
