/**
 * Server-side data scrubbing, applied to an event payload before anything is stored: values of
 * fields whose names look sensitive (passwords, secrets, tokens, API keys, auth and cookie headers)
 * and credit-card-like numbers (13–19 digits passing the Luhn check) become "[Filtered]". Query
 * strings and URL query parameters are scrubbed by parameter name. The walk is bounded in depth.
 */

export const FILTERED = '[Filtered]';

/** Built-in sensitive name parts, matched against names lowercased with `-`, `_`, `.` and spaces removed. */
const BUILT_IN_TERMS = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'auth',
  'credential',
  'privatekey',
  'cookie',
  'sessionid',
  'bearer',
  'creditcard',
  'cardnumber',
  'cvv',
  'mysqlpwd',
];

/** Names that look sensitive by the rule above but carry identifiers the product needs. */
const KEEP_KEYS = new Set(['author', 'authors', 'authority', 'tokens_used']);
/** Top-level fields never scrubbed: identifiers and grouping input, as sent and as normalised. */
const SKIP_TOP_LEVEL = new Set([
  'event_id',
  'timestamp',
  'start_timestamp',
  'fingerprint',
  'sdk',
  'type',
  'platform',
  'release',
  'environment',
  'eventId',
  'projectId',
  'timestampMs',
  'receivedMs',
  'level',
  'traceId',
  'spanId',
]);
/** Distinct field names remembered per scrubber; names repeat across events, so the answer is cached. */
const MAX_CACHED_NAMES = 10_000;
const MAX_DEPTH = 20;
const CARD_RE = /\b\d(?:[ -]?\d){12,18}\b/g;

const normalizeName = (name: string): string => name.toLowerCase().replace(/[-_.\s]/g, '');

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Replaces credit-card-like numbers in a string. */
export function scrubCardNumbers(text: string): string {
  if (text.length < 13 || !/\d{4}/.test(text)) return text;
  return text.replace(CARD_RE, (m) => {
    const digits = m.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? FILTERED : m;
  });
}

export class Scrubber {
  private readonly terms: readonly string[];
  private readonly verdicts = new Map<string, boolean>();

  /** `extraFields`: further name parts to scrub (a project's `scrub_fields`). */
  constructor(extraFields: readonly string[] = []) {
    this.terms = [...BUILT_IN_TERMS, ...extraFields.map(normalizeName).filter((t) => t !== '')];
  }

  isSensitive(name: string): boolean {
    const cached = this.verdicts.get(name);
    if (cached !== undefined) return cached;
    let verdict = false;
    if (!KEEP_KEYS.has(name.toLowerCase())) {
      const n = normalizeName(name);
      for (const t of this.terms) if (n.includes(t)) verdict = true;
    }
    if (this.verdicts.size < MAX_CACHED_NAMES) this.verdicts.set(name, verdict);
    return verdict;
  }

  /** Scrubs an event in place: a Sentry payload (event, transaction, spans) or a normalised ErrorEvent's JSON. */
  scrubEvent(event: Record<string, unknown>): void {
    for (const key of Object.keys(event)) {
      if (SKIP_TOP_LEVEL.has(key)) continue;
      if (key === 'contexts') {
        const contexts = event.contexts;
        if (typeof contexts === 'object' && contexts !== null && !Array.isArray(contexts)) {
          for (const [name, ctx] of Object.entries(contexts as Record<string, unknown>)) {
            // The trace context holds the ids that link the event to its trace.
            if (name !== 'trace') (contexts as Record<string, unknown>)[name] = this.scrubValue(name, ctx, 1);
          }
        }
        continue;
      }
      event[key] = this.scrubValue(key, event[key], 0);
    }
  }

  private scrubValue(key: string, value: unknown, depth: number): unknown {
    if (value === null || value === undefined) return value;
    if (this.isSensitive(key)) return FILTERED;
    if (typeof value === 'string') {
      if (key === 'query_string' || key === 'url') return this.scrubQuery(value);
      return scrubCardNumbers(value);
    }
    if (typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) return FILTERED;
    // Arrays and objects are scrubbed in place: the callers own the freshly parsed event.
    if (Array.isArray(value)) {
      // [name, value] pairs (headers, query strings as sent by some SDKs) are scrubbed by name.
      if (value.length === 2 && typeof value[0] === 'string' && (key === 'headers' || key === 'query_string' || key === 'cookies' || key === '')) {
        value[1] = this.isSensitive(value[0]) ? FILTERED : this.scrubValue(value[0], value[1], depth + 1);
        return value;
      }
      const itemKey = key === 'headers' || key === 'query_string' ? '' : key;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const scrubbed = this.scrubValue(itemKey, item, depth + 1);
        if (scrubbed !== item) value[i] = scrubbed;
      }
      return value;
    }
    // Written back only when changed: almost nothing is, and a store into an object of unknown
    // shape is as costly as the walk itself.
    const obj = value as Record<string, unknown>;
    for (const k in obj) {
      const field = obj[k];
      const scrubbed = this.scrubValue(k, field, depth + 1);
      if (scrubbed !== field) obj[k] = scrubbed;
    }
    return obj;
  }

  /** Scrubs `a=1&password=x` or a URL's query by parameter name. */
  private scrubQuery(text: string): string {
    const q = text.indexOf('?');
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.startsWith('/');
    if (isUrl && q < 0) return scrubCardNumbers(text);
    const head = isUrl ? text.slice(0, q + 1) : '';
    const query = isUrl ? text.slice(q + 1) : text;
    const parts = query.split('&').map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return scrubCardNumbers(part);
      let name = part.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // Keep the raw name; a malformed escape is still matched as written.
      }
      return this.isSensitive(name) ? `${part.slice(0, eq)}=${FILTERED}` : scrubCardNumbers(part);
    });
    return head + parts.join('&');
  }
}
