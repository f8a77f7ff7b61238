/**
 * Sentry event payload (JSON) → ErrorEvent. Lenient where SDKs differ (message as a string or a
 * logentry, exception as a list or {values}, tags as an object or pairs, timestamps as seconds or
 * RFC 3339) and strict where a payload is plainly broken (a wrong type for a main field, an invalid
 * event id): those raise EventError, answered with 400. Strings and lists are capped so a single
 * event cannot grow without bound.
 */
import { randomUUID } from 'node:crypto';
import { ERROR_LEVELS, type Breadcrumb, type ErrorEvent, type ErrorLevel, type EventUser, type ExceptionInfo, type StackFrame } from '../model/error-event.js';

/** The event payload is malformed; the message says which field and why. */
export class EventError extends Error {
  override readonly name = 'EventError';
}

const MAX_STRING = 8192;
const MAX_SHORT = 512;
const MAX_EXCEPTIONS = 25;
const MAX_FRAMES = 250;
const MAX_BREADCRUMBS = 100;
const MAX_TAGS = 200;
/** Events stamped further in the future than this are clamped to the receive time (clock skew). */
const MAX_FUTURE_MS = 60_000;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, max = MAX_SHORT): string {
  if (typeof v === 'string') return v.length > max ? `${v.slice(0, max - 1)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function int(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null;
}

function objectField(event: Json, name: string): Json | null {
  const v = event[name];
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new EventError(`"${name}" must be an object`);
  return v;
}

/** A list given as an array or as `{values: [...]}` (exception, breadcrumbs, threads). */
function valuesList(event: Json, name: string): unknown[] {
  const v = event[name];
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (isObject(v)) {
    if (v.values === undefined || v.values === null) return [];
    if (Array.isArray(v.values)) return v.values;
  }
  throw new EventError(`"${name}" must be a list or an object with a "values" list`);
}

/** Seconds (number, possibly fractional) or an RFC 3339 string → ms; null when absent or invalid. */
export function parseTimestampMs(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v * 1000;
  if (typeof v === 'string' && v !== '') {
    const asNumber = Number(v);
    if (Number.isFinite(asNumber) && asNumber > 0) return asNumber * 1000;
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

function normalizeLevel(v: unknown): ErrorLevel {
  if (typeof v !== 'string') return 'error';
  const l = v.toLowerCase();
  if ((ERROR_LEVELS as readonly string[]).includes(l)) return l as ErrorLevel;
  if (l === 'warn') return 'warning';
  if (l === 'critical') return 'fatal';
  if (l === 'log') return 'info';
  return 'error';
}

function normalizeFrame(f: unknown): StackFrame | null {
  if (!isObject(f)) return null;
  const inApp = f.in_app;
  return {
    filename: str(f.filename, MAX_STRING),
    absPath: str(f.abs_path, MAX_STRING),
    module: str(f.module),
    function: str(f.function),
    lineno: int(f.lineno),
    colno: int(f.colno),
    inApp: inApp === true,
    contextLine: str(f.context_line),
  };
}

function normalizeException(e: unknown, index: number): ExceptionInfo {
  if (!isObject(e)) throw new EventError(`exception ${index} must be an object`);
  const st = e.stacktrace;
  let frames: StackFrame[] = [];
  if (st !== undefined && st !== null) {
    if (!isObject(st) || (st.frames !== undefined && !Array.isArray(st.frames))) {
      throw new EventError(`exception ${index}: "stacktrace" must be an object with a "frames" list`);
    }
    const raw = (st.frames as unknown[] | undefined) ?? [];
    // Keep the innermost frames (the end of the list) when a stack is too deep.
    frames = raw.slice(-MAX_FRAMES).map(normalizeFrame).filter((x): x is StackFrame => x !== null);
  }
  const mech = e.mechanism;
  return {
    type: str(e.type),
    value: str(e.value, MAX_STRING),
    module: str(e.module),
    mechanism: isObject(mech) ? { type: str(mech.type), handled: typeof mech.handled === 'boolean' ? mech.handled : null, synthetic: mech.synthetic === true } : null,
    frames,
  };
}

function normalizeTags(v: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  let n = 0;
  const put = (k: unknown, val: unknown): void => {
    const key = str(k, 200);
    if (key === '' || n >= MAX_TAGS) return;
    tags[key] = str(val, 200);
    n++;
  };
  if (Array.isArray(v)) {
    for (const pair of v) if (Array.isArray(pair) && pair.length === 2) put(pair[0], pair[1]);
  } else if (isObject(v)) {
    for (const [k, val] of Object.entries(v)) put(k, val);
  } else if (v !== undefined && v !== null) {
    throw new EventError('"tags" must be an object or a list of [key, value] pairs');
  }
  return tags;
}

function normalizeUser(v: Json | null): EventUser | null {
  if (v === null) return null;
  const user = { id: str(v.id), email: str(v.email), username: str(v.username), ipAddress: str(v.ip_address) };
  return user.id || user.email || user.username || user.ipAddress ? user : null;
}

function normalizeRequest(v: Json | null): Record<string, unknown> | null {
  if (v === null) return null;
  const out: Record<string, unknown> = {};
  for (const k of ['url', 'method', 'query_string', 'data', 'cookies', 'env']) if (v[k] !== undefined && v[k] !== null) out[k] = v[k];
  const headers = v.headers;
  if (Array.isArray(headers)) {
    const h: Record<string, unknown> = {};
    for (const pair of headers) if (Array.isArray(pair) && pair.length === 2) h[str(pair[0])] = pair[1];
    out.headers = h;
  } else if (isObject(headers)) out.headers = headers;
  return out;
}

function normalizeBreadcrumb(b: unknown): Breadcrumb | null {
  if (!isObject(b)) return null;
  return {
    timestampMs: parseTimestampMs(b.timestamp),
    type: str(b.type),
    category: str(b.category),
    level: str(b.level),
    message: str(b.message, MAX_STRING),
    data: isObject(b.data) ? b.data : null,
  };
}

/** The message, its template and params from `message` (string or object) or `logentry`. */
function normalizeMessage(event: Json): { message: string; template: string; params: string[] } {
  const source = event.logentry ?? event.message;
  if (source === undefined || source === null) return { message: '', template: '', params: [] };
  if (typeof source === 'string') return { message: str(source, MAX_STRING), template: '', params: [] };
  if (!isObject(source)) throw new EventError('"message" must be a string or an object with "message" or "formatted"');
  const template = str(source.message, MAX_STRING);
  const params = Array.isArray(source.params) ? source.params.slice(0, 50).map((p) => str(p)) : [];
  let formatted = str(source.formatted, MAX_STRING);
  if (formatted === '' && template !== '') {
    let i = 0;
    formatted = template.replace(/%s|%d|%i|%f|\{\}/g, (m) => (i < params.length ? params[i++]! : m));
  }
  return { message: formatted, template, params };
}

/** Lowercase 32-hex event id from a UUID or hex string; generated when absent. */
function normalizeEventId(v: unknown): string {
  if (v === undefined || v === null || v === '') return randomUUID().replaceAll('-', '');
  if (typeof v !== 'string') throw new EventError('"event_id" must be a string of 32 hex digits');
  const id = v.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new EventError(`"event_id" must be 32 hex digits (a UUID), got "${str(v, 64)}"`);
  return id;
}

/** Normalises one Sentry event payload received at `receivedMs` for project `projectId`. */
export function normalizeEvent(raw: Json, projectId: number, receivedMs: number): ErrorEvent {
  const eventId = normalizeEventId(raw.event_id);
  const ts = raw.timestamp === undefined ? null : parseTimestampMs(raw.timestamp);
  if (raw.timestamp !== undefined && raw.timestamp !== null && ts === null) throw new EventError('"timestamp" must be seconds since the epoch or an RFC 3339 time');
  const timestampMs = ts === null || ts > receivedMs + MAX_FUTURE_MS ? receivedMs : Math.round(ts);
  const exceptions = valuesList(raw, 'exception').slice(-MAX_EXCEPTIONS).map((e, i) => normalizeException(e, i + 1));
  const breadcrumbs = valuesList(raw, 'breadcrumbs')
    .slice(-MAX_BREADCRUMBS)
    .map(normalizeBreadcrumb)
    .filter((b): b is Breadcrumb => b !== null);
  const contexts = objectField(raw, 'contexts') ?? {};
  const trace = isObject(contexts.trace) ? contexts.trace : {};
  const traceId = str(trace.trace_id).toLowerCase();
  const spanId = str(trace.span_id).toLowerCase();
  const sdk = objectField(raw, 'sdk');
  const fingerprint = raw.fingerprint;
  if (fingerprint !== undefined && fingerprint !== null && !Array.isArray(fingerprint)) throw new EventError('"fingerprint" must be a list of strings');
  const message = normalizeMessage(raw);
  return {
    eventId,
    projectId,
    timestampMs,
    receivedMs,
    level: normalizeLevel(raw.level),
    platform: str(raw.platform) || 'other',
    logger: str(raw.logger),
    release: str(raw.release, 200),
    environment: str(raw.environment, 64),
    serverName: str(raw.server_name),
    transaction: str(raw.transaction),
    message: message.message,
    messageTemplate: message.template,
    messageParams: message.params,
    exceptions,
    tags: normalizeTags(raw.tags),
    user: normalizeUser(objectField(raw, 'user')),
    request: normalizeRequest(objectField(raw, 'request')),
    contexts,
    breadcrumbs,
    extra: objectField(raw, 'extra') ?? {},
    sdk: sdk === null ? null : { name: str(sdk.name), version: str(sdk.version) },
    fingerprint: ((fingerprint as unknown[] | undefined) ?? []).slice(0, 20).map((f) => str(f)),
    traceId: /^[0-9a-f]{32}$/.test(traceId) ? traceId : '',
    spanId: /^[0-9a-f]{16}$/.test(spanId) ? spanId : '',
  };
}
