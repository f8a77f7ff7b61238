/**
 * Where Sentry SDKs put their public key: the `sentry_key` query parameter (browser and Node SDKs),
 * the `X-Sentry-Auth` header (`Sentry sentry_key=..., sentry_version=7, ...`), or the `dsn` in the
 * envelope header. The secret key of old DSNs is ignored, as Sentry itself ignores it.
 */

/** The `sentry_key` of an X-Sentry-Auth header, or null. */
export function keyFromAuthHeader(header: string | undefined): string | null {
  if (!header) return null;
  let text = header.trim();
  if (/^sentry\s/i.test(text)) text = text.slice(7);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() === 'sentry_key') return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** The public key (user part) of a DSN string, or null when it is not a DSN. */
export function keyFromDsn(dsn: unknown): string | null {
  if (typeof dsn !== 'string' || dsn === '') return null;
  try {
    return new URL(dsn).username || null;
  } catch {
    return null;
  }
}

/** The project id a DSN names (its last path segment), or null. */
export function projectFromDsn(dsn: unknown): number | null {
  if (typeof dsn !== 'string') return null;
  try {
    const last = new URL(dsn).pathname.split('/').filter((s) => s !== '').pop();
    return last !== undefined && /^\d+$/.test(last) ? Number(last) : null;
  } catch {
    return null;
  }
}
