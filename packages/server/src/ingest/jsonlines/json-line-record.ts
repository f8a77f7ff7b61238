/**
 * Recognises the fields of one JSON log line as the common structured loggers write them
 * (pino, bunyan, winston, structlog, python-json-logger, zap, logrus, ECS): time, level, message,
 * request id, trace and span id, service, environment and version. Every other field becomes an
 * attribute, nested values kept as they are.
 */
import { labelsFromPairs, type Labels } from '../../model/labels.js';
import { canonicalLevel, severityOfLevelNumber, severityOfLevelText, UNKNOWN_SERVICE } from '../../model/log-record.js';
import type { LogColumnsBuilder } from '../../storage/log-columns.js';

/** Field roles, each with the keys that carry it, most preferred first. */
export const ROLE_KEYS = [
  ['time', 'timestamp', '@timestamp', 'ts'],
  ['level', 'levelname', 'severity', 'log.level', 'lvl'],
  ['msg', 'message', 'event'],
  ['request_id', 'requestId', 'correlation_id', 'X-Request-ID', 'x-request-id', 'correlationId', 'reqId', 'req_id'],
  ['trace_id', 'traceId', 'trace.id', 'traceID', 'otelTraceID', 'dd.trace_id'],
  ['span_id', 'spanId', 'span.id', 'spanID', 'otelSpanID', 'dd.span_id'],
  ['service', 'service.name', 'service_name', 'serviceName', 'app', 'name'],
  ['environment', 'env', 'deployment.environment'],
  ['version', 'service.version', 'app_version'],
] as const;
export const ROLE_TIME = 0;
export const ROLE_LEVEL = 1;
export const ROLE_MESSAGE = 2;
export const ROLE_REQUEST = 3;
export const ROLE_TRACE = 4;
export const ROLE_SPAN = 5;
export const ROLE_SERVICE = 6;
export const ROLE_ENV = 7;
export const ROLE_VERSION = 8;
export const ROLE_COUNT = ROLE_KEYS.length;

/** Role and preference (0 best) of each recognised key. */
const ROLE_OF_KEY = new Map<string, { readonly role: number; readonly rank: number }>();
ROLE_KEYS.forEach((keys, role) => keys.forEach((key, rank) => ROLE_OF_KEY.set(key, { role, rank })));

const HEX_ID_RE = /^[0-9a-fA-F]+$/;
/** Ids are mostly lowercase already: only one with an upper-case hex digit needs the full check. */
const HEX_UPPER_RE = /[A-F]/;

/** Defaults from the request's query parameters; line fields win over them. */
export interface JsonLineDefaults {
  readonly service: string;
  readonly environment: string;
  readonly version: string;
}

// Per-call scratch (the conversion is synchronous): the chosen key, its rank and value per role.
const chosenKey: (string | null)[] = new Array<string | null>(ROLE_COUNT).fill(null);
const chosenRank = new Int32Array(ROLE_COUNT);
const chosenValue: unknown[] = new Array<unknown>(ROLE_COUNT).fill(undefined);

/**
 * Adds the line's record to `out`, or returns the reason the line was rejected (adding nothing).
 * `line` is one line of text (no newline). Each role takes the most preferred of its keys holding
 * a non-empty value; every other field, nested values kept as they are, becomes an attribute. One
 * pass picks the roles, a second copies the attributes.
 */
export function addJsonLine(line: string, defaults: JsonLineDefaults, observedNs: bigint, out: LogColumnsBuilder): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'expected a JSON object';
  const fields = parsed as Record<string, unknown>;
  chosenKey.fill(null);
  chosenValue.fill(undefined);
  let roleKeys = 0;
  for (const key in fields) {
    const r = ROLE_OF_KEY.get(key);
    if (r === undefined) continue;
    roleKeys++;
    const v = fields[key];
    if (v === undefined || v === null || v === '') continue;
    if (chosenKey[r.role] === null || r.rank < chosenRank[r.role]!) {
      chosenKey[r.role] = key;
      chosenRank[r.role] = r.rank;
      chosenValue[r.role] = v;
    }
  }

  const timeValue = chosenValue[ROLE_TIME];
  let timeNs = observedNs;
  if (timeValue !== undefined) {
    const t = parseTime(timeValue);
    if (t === null) return `unrecognised time ${JSON.stringify(timeValue)}: expected epoch seconds, ms, µs or ns, or an ISO 8601 date`;
    timeNs = t;
  }

  let severity = 0;
  let severityText = '';
  const levelValue = chosenValue[ROLE_LEVEL];
  if (typeof levelValue === 'number') {
    severity = severityOfLevelNumber(levelValue, 'pino');
    severityText = String(levelValue);
  } else if (typeof levelValue === 'string') {
    severityText = levelValue;
    severity = severityOfLevelText(levelValue);
  }
  const levelNo = fields.levelno;
  if (severity === 0 && typeof levelNo === 'number') severity = severityOfLevelNumber(levelNo, 'python');

  const message = chosenValue[ROLE_MESSAGE];
  const body = message === undefined ? line : typeof message === 'string' ? message : JSON.stringify(message);
  const requestId = asId(chosenValue[ROLE_REQUEST]);
  const traceId = hexId(chosenValue[ROLE_TRACE]);
  const spanId = hexId(chosenValue[ROLE_SPAN]);
  const service = asId(chosenValue[ROLE_SERVICE]) || defaults.service || UNKNOWN_SERVICE;
  const environment = asId(chosenValue[ROLE_ENV]) || defaults.environment;
  const version = asId(chosenValue[ROLE_VERSION]) || defaults.version;

  let attributes: Record<string, unknown> | null = null;
  for (const key in fields) {
    if (roleKeys > 0) {
      const r = ROLE_OF_KEY.get(key);
      if (r !== undefined && chosenKey[r.role] === key) continue;
    }
    attributes ??= {};
    attributes[key] = fields[key];
  }
  const producer = producerOf(service, environment, version);
  const level = canonicalLevel(severity, severityText);
  const attributesJson = attributes === null ? null : JSON.stringify(attributes);
  out.add(timeNs, observedNs, producer.stream, producer.resource, severity, level, severityText, body, traceId, spanId, requestId, attributesJson);
  return null;
}

export interface Producer {
  /** Stream labels: service_name and deployment_environment. */
  readonly stream: Labels;
  readonly resource: Readonly<Record<string, string>>;
}

/** Producers by service, then environment and version (nested maps: no key string built per line). */
const producerCache = new Map<string, Map<string, Producer>>();
let cachedProducers = 0;

/**
 * Stream labels and resource of a (service, environment, version), shared by every line of that
 * producer: the store interns both by object identity, so it serialises each once per write.
 */
export function producerOf(service: string, environment: string, version: string): Producer {
  let byRest = producerCache.get(service);
  if (byRest === undefined) {
    if (cachedProducers > 10_000) {
      producerCache.clear();
      cachedProducers = 0;
    }
    byRest = new Map();
    producerCache.set(service, byRest);
  }
  const rest = version === '' ? environment : `${environment}\xff${version}`;
  let producer = byRest.get(rest);
  if (producer === undefined) {
    const resource: Record<string, string> = { 'service.name': service };
    if (environment) resource['deployment.environment'] = environment;
    if (version) resource['service.version'] = version;
    const stream = labelsFromPairs([
      ['service_name', service],
      ['deployment_environment', environment],
    ]);
    producer = { stream, resource };
    cachedProducers++;
    byRest.set(rest, producer);
  }
  return producer;
}

function asId(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

/** A hex trace/span id lowercased; other forms (e.g. Datadog's decimal ids) are kept as text. */
function hexId(v: unknown): string {
  const s = asId(v);
  return HEX_UPPER_RE.test(s) && HEX_ID_RE.test(s) ? s.toLowerCase() : s;
}

const ISO_FRACTION_RE = /^(.*T\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(.*)$/;

/** Epoch number or numeric string (unit guessed by magnitude) or ISO 8601 / RFC 3339 text, to ns. */
export function parseTime(v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? epochToNs(v) : null;
  if (typeof v !== 'string') return null;
  const text = v.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    if (/^\d{16,19}$/.test(text)) return BigInt(text) * (text.length <= 16 ? 1000n : 1n);
    return epochToNs(Number(text));
  }
  // Date.parse keeps milliseconds only: parse the fraction separately for µs/ns precision.
  const normalized = text.replace(' ', 'T');
  const m = ISO_FRACTION_RE.exec(normalized);
  const ms = Date.parse(m ? `${m[1]!}${m[3]!}` : normalized);
  if (Number.isNaN(ms)) return null;
  const fraction = m?.[2] ?? '';
  const fractionNs = fraction === '' ? 0n : BigInt(fraction.slice(0, 9).padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + fractionNs;
}

/** Seconds below 1e11 (until year 5138), ms below 1e14, µs below 1e17, else ns. */
function epochToNs(n: number): bigint {
  if (n < 1e11) return BigInt(Math.round(n * 1e6)) * 1000n;
  if (n < 1e14) return BigInt(Math.round(n * 1000)) * 1000n;
  if (n < 1e17) return BigInt(Math.round(n)) * 1000n;
  return BigInt(Math.round(n));
}
