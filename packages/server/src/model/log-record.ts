/**
 * The log record vocabulary shared by every log ingest path (OTLP, Loki push, JSON lines), the log
 * store and LogQL. Times are nanoseconds since the Unix epoch held in a bigint, because log
 * timestamps carry nanosecond precision end to end (OTLP, Loki) and a float64 loses it.
 */
import type { Labels } from './labels.js';

/** One log line as stored. Ids are lowercase hex (trace 32, span 16 digits) or '' when absent. */
export interface LogRecord {
  /** When the event happened, ns since the epoch. */
  readonly timeNs: bigint;
  /** When Watchkeeper (or the collector) first saw it, ns since the epoch. */
  readonly observedNs: bigint;
  /** The service name: also the `service_name` stream label. */
  readonly service: string;
  /** Canonical lowercase level ("trace", "debug", "info", "warn", "error", "fatal", or another text lowercased); '' when unknown. */
  readonly level: string;
  /** Severity text exactly as sent ('' when none), e.g. "ERROR", "warning". */
  readonly severityText: string;
  /** OpenTelemetry severity number 1–24; 0 when unknown. */
  readonly severity: number;
  readonly body: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly requestId: string;
  /** The stream this line belongs to (Loki's stream labels); always includes service_name. */
  readonly stream: Labels;
  /** Per-line key/values (Loki structured metadata, OTLP log attributes, extra JSON fields). */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Resource attributes of the producer (OTLP resource, JSON-lines service/environment/version). */
  readonly resource: Readonly<Record<string, unknown>>;
}

/** A stored log record as returned by queries: the record plus its store-assigned sequence number. */
export interface StoredLogRecord extends LogRecord {
  /** Monotonic per store: orders lines with equal timestamps and identifies a line for context queries. */
  readonly seq: bigint;
}

/** The service name used when a producer names none, as OpenTelemetry and Loki do. */
export const UNKNOWN_SERVICE = 'unknown_service';

/** The canonical lowercase level names, indexed by OpenTelemetry severity range (1–4 trace, ...). */
const LEVEL_BY_RANGE = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** Canonical level name ("trace".."fatal") of an OpenTelemetry severity number; '' for 0 or out of range. */
export function levelOfSeverity(severity: number): string {
  if (!(severity >= 1 && severity <= 24)) return '';
  return LEVEL_BY_RANGE[Math.floor((severity - 1) / 4)]!;
}

const SEVERITY_BY_TEXT: Readonly<Record<string, number>> = {
  trace: 1,
  debug: 5,
  info: 9,
  information: 9,
  informational: 9,
  notice: 10,
  warn: 13,
  warning: 13,
  error: 17,
  err: 17,
  critical: 21,
  crit: 21,
  alert: 22,
  emergency: 23,
  emerg: 23,
  fatal: 21,
  panic: 21,
};

/** The OpenTelemetry severity number of a level text (case-insensitive, syslog and Python names too); 0 if unknown. */
export function severityOfLevelText(text: string): number {
  return SEVERITY_BY_TEXT[text.toLowerCase()] ?? 0;
}

/**
 * Severity of a numeric level as loggers write it: pino/bunyan use 10 trace, 20 debug, 30 info,
 * 40 warn, 50 error, 60 fatal; Python's logging uses 10 debug, 20 info, 30 warning, 40 error,
 * 50 critical. Values 1–9 are taken as OpenTelemetry severity numbers.
 */
export function severityOfLevelNumber(n: number, dialect: 'pino' | 'python'): number {
  if (!Number.isFinite(n)) return 0;
  if (n >= 1 && n <= 9 && Number.isInteger(n)) return n;
  const table = dialect === 'pino' ? [0, 1, 5, 9, 13, 17, 21] : [0, 5, 9, 13, 17, 21, 21];
  const idx = Math.min(6, Math.max(0, Math.floor(n / 10)));
  return table[idx]!;
}

/** The canonical level of a record: from the severity number when known, else the text lowercased. */
export function canonicalLevel(severity: number, severityText: string): string {
  const fromNumber = levelOfSeverity(severity);
  if (fromNumber !== '') return fromNumber;
  const fromText = levelOfSeverity(severityOfLevelText(severityText));
  return fromText !== '' ? fromText : severityText.toLowerCase();
}
