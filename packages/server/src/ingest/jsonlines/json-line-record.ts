/**
 * Recognises the fields of one JSON log line as the common structured loggers write them
 * (pino, bunyan, winston, structlog, python-json-logger, zap, logrus, ECS): time, level, message,
 * request id, trace and span id, service, environment and version. Every other field becomes an
 * attribute, nested values kept as they are.
 */
import { labelsFromPairs, type Labels } from '../../model/labels.js';
import { canonicalLevel, severityOfLevelNumber, severityOfLevelText, UNKNOWN_SERVICE, type LogRecord } from '../../model/log-record.js';

const TIME_KEYS = ['time', 'timestamp', '@timestamp', 'ts'];
const LEVEL_KEYS = ['level', 'levelname', 'severity', 'log.level', 'lvl'];
const MESSAGE_KEYS = ['msg', 'message', 'event'];
const REQUEST_KEYS = ['request_id', 'requestId', 'correlation_id', 'X-Request-ID', 'x-request-id', 'correlationId', 'reqId', 'req_id'];
const TRACE_KEYS = ['trace_id', 'traceId', 'trace.id', 'traceID', 'otelTraceID', 'dd.trace_id'];
const SPAN_KEYS = ['span_id', 'spanId', 'span.id', 'spanID', 'otelSpanID', 'dd.span_id'];
const SERVICE_KEYS = ['service', 'service.name', 'service_name', 'serviceName', 'app', 'name'];
const ENV_KEYS = ['environment', 'env', 'deployment.environment'];
const VERSION_KEYS = ['version', 'service.version', 'app_version'];
const HEX_ID_RE = /^[0-9a-fA-F]+$/;

/** Defaults from the request's query parameters; line fields win over them. */
export interface JsonLineDefaults {
  readonly service: string;
  readonly environment: string;
  readonly version: string;
}

/** A record, or the reason the line was rejected. `line` is one line of text (no newline). */
export function jsonLineToRecord(line: string, defaults: JsonLineDefaults, observedNs: bigint): LogRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'expected a JSON object';
  const fields = parsed as Record<string, unknown>;
  const used = new Set<string>();
  const take = (keys: readonly string[]): unknown => {
    for (const k of keys) {
      const v = fields[k];
      if (v !== undefined && v !== null && v !== '') {
        used.add(k);
        return v;
      }
    }
    return undefined;
  };

  const timeValue = take(TIME_KEYS);
  let timeNs = observedNs;
  if (timeValue !== undefined) {
    const t = parseTime(timeValue);
    if (t === null) return `unrecognised time ${JSON.stringify(timeValue)}: expected epoch seconds, ms, µs or ns, or an ISO 8601 date`;
    timeNs = t;
  }

  let severity = 0;
  let severityText = '';
  const levelValue = take(LEVEL_KEYS);
  if (typeof levelValue === 'number') {
    severity = severityOfLevelNumber(levelValue, 'pino');
    severityText = String(levelValue);
  } else if (typeof levelValue === 'string') {
    severityText = levelValue;
    severity = severityOfLevelText(levelValue);
  }
  const levelNo = fields.levelno;
  if (severity === 0 && typeof levelNo === 'number') severity = severityOfLevelNumber(levelNo, 'python');

  const message = take(MESSAGE_KEYS);
  const body = message === undefined ? line : typeof message === 'string' ? message : JSON.stringify(message);
  const requestId = asId(take(REQUEST_KEYS));
  const traceId = hexId(take(TRACE_KEYS));
  const spanId = hexId(take(SPAN_KEYS));
  const service = asId(take(SERVICE_KEYS)) || defaults.service || UNKNOWN_SERVICE;
  const environment = asId(take(ENV_KEYS)) || defaults.environment;
  const version = asId(take(VERSION_KEYS)) || defaults.version;

  const attributes: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) if (!used.has(key)) attributes[key] = fields[key];
  const resource: Record<string, string> = { 'service.name': service };
  if (environment) resource['deployment.environment'] = environment;
  if (version) resource['service.version'] = version;

  return {
    timeNs,
    observedNs,
    service,
    level: canonicalLevel(severity, severityText),
    severityText,
    severity,
    body,
    traceId,
    spanId,
    requestId,
    stream: streamLabels(service, environment),
    attributes,
    resource,
  };
}

const streamCache = new Map<string, Labels>();

/** Stream labels: service_name and deployment_environment, shared objects per combination. */
function streamLabels(service: string, environment: string): Labels {
  const key = `${service}\xff${environment}`;
  let labels = streamCache.get(key);
  if (labels === undefined) {
    labels = labelsFromPairs([
      ['service_name', service],
      ['deployment_environment', environment],
    ]);
    if (streamCache.size > 10_000) streamCache.clear();
    streamCache.set(key, labels);
  }
  return labels;
}

function asId(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

/** A hex trace/span id lowercased; other forms (e.g. Datadog's decimal ids) are kept as text. */
function hexId(v: unknown): string {
  const s = asId(v);
  return HEX_ID_RE.test(s) ? s.toLowerCase() : s;
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
