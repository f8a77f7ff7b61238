/**
 * The pino logger: JSON lines with timestamp, level, service, version, environment, logger name and
 * message, plus request_id / trace_id / span_id inside a request; written to stdout (or a given
 * destination), optionally to a rotating file, and shipped as OTLP log records through a bounded
 * batch queue. Lines at warn and above also become error breadcrumbs.
 */
import { context, trace, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from './log-redaction.js';
import { requestStore, type RequestContext } from './request-context.js';
import { ChunkedStdout } from './stdout-lines.js';
import { ExportQueue } from './otlp/export-queue.js';
import { LogBatch } from './otlp/log-shipper.js';
import { otlpLogExporter } from './otlp/otlp-http-exporters.js';
import type { ResolvedOptions } from './options.js';

type LoggingConfig = NonNullable<ResolvedOptions['logging']>;

/** pino's levels of the lines written here: warn and above become error breadcrumbs. */
const INFO_LEVEL = 30;
const WARN_LEVEL = 40;
const ERROR_LEVEL = 50;
/** Bound of the cached `"method":…,"route":…` texts of access lines. */
const MAX_ROUTE_TEXTS = 1000;

/** A finished request, as its access line reports it. */
export interface AccessRecord {
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
}

export interface ServiceLogging {
  logger: Logger;
  /** Writes the access line of a finished request, like the logger's lines; shipped only with `shipAccessLog`. */
  accessLine(record: AccessRecord): void;
  /** Exports what is queued and flushes the file and stdout buffers. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface LoggingDeps {
  service: string;
  version: string;
  environment: string;
  resource: Resource;
  logsUrl: string | null;
  onDrop: (reason: string, count: number) => void;
  onWarning: (level: string, message: string | undefined) => void;
}

/** What pino tells a destination that asks for metadata (pino.symbols.needsMetadataGsym). */
interface LineMetadata {
  lastLevel: number;
  lastMsg: string | undefined;
  /** The fields of the call (before redaction). */
  lastObj: object;
}

/** `,"timestamp":"<ISO 8601 UTC>"`, the ISO text of the current second reused (Date formatting is costly). */
function isoTimestamp(): () => string {
  let second = -1;
  let prefix = '';
  return () => {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      prefix = `,"timestamp":"${new Date(s * 1000).toISOString().slice(0, 20)}`;
    }
    const ms = now - s * 1000;
    return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  };
}

/**
 * `line` with `request_id`, `trace_id` and `span_id` added before its closing brace, unless the call
 * gave them itself. Appending them costs a string concatenation, where a pino mixin merged a new
 * object into every call's fields and serialized it again (1.5 to 2 µs a line).
 */
function withContextIds(line: string, fields: object, request: RequestContext | undefined, span: SpanContext | undefined): string {
  if ((request === undefined && span === undefined) || !line.endsWith('}\n')) return line;
  let ids = '';
  if (request !== undefined && !Object.hasOwn(fields, 'request_id')) ids += `,"request_id":${JSON.stringify(request.requestId)}`;
  if (span !== undefined) {
    if (!Object.hasOwn(fields, 'trace_id')) ids += `,"trace_id":"${span.traceId}"`;
    if (!Object.hasOwn(fields, 'span_id')) ids += `,"span_id":"${span.spanId}"`;
  }
  return ids === '' ? line : `${line.slice(0, -2)}${ids}}\n`;
}

/** Creates the service logger and its outputs. */
export function createLogging(cfg: LoggingConfig, deps: LoggingDeps): ServiceLogging {
  const stdout = cfg.destination ?? new ChunkedStdout();
  const file = cfg.file ? pino.transport({ target: 'pino-roll', options: { file: cfg.file.path, size: cfg.file.size ?? '10m', frequency: cfg.file.frequency, limit: { count: cfg.file.keep ?? 5 }, mkdir: true } }) : null;
  const outputs: DestinationStream[] = file ? [stdout, file as DestinationStream] : [stdout];
  const shipper =
    cfg.ship && deps.logsUrl !== null
      ? new ExportQueue({ batch: new LogBatch(deps.resource), exporter: otlpLogExporter(deps.logsUrl, 5000), maxQueueSize: cfg.maxQueueSize, maxBatchSize: 512, delayMs: 1000, onDrop: deps.onDrop })
      : null;

  /** Writes a line to every output, and queues it for shipping when `ship`; `span` is the caller's. */
  const emit = (line: string, level: number, message: string | undefined, ship: boolean, span: SpanContext | undefined) => {
    for (const out of outputs) out.write(line);
    if (level >= WARN_LEVEL) deps.onWarning(pino.levels.labels[level] ?? String(level), message);
    if (shipper === null || !ship) return;
    shipper.push({ line, level, timeMs: Date.now(), traceId: span?.traceId, spanId: span?.spanId, traceFlags: span?.traceFlags ?? 0 });
  };

  // One destination for every output: pino hands it the line and, through the metadata symbol,
  // the level, message and fields, so nothing is parsed back on the logging path. pino writes
  // synchronously inside the log call, so the active context is the caller's.
  const destination = {
    [pino.symbols.needsMetadataGsym]: true,
    lastLevel: 0,
    lastMsg: undefined,
    lastObj: {},
    write(this: LineMetadata, line: string) {
      const span = trace.getSpanContext(context.active());
      emit(withContextIds(line, this.lastObj, requestStore.getStore(), span), this.lastLevel, this.lastMsg, true, span);
    },
  };
  const timestamp = isoTimestamp();
  const base = { service: deps.service, version: deps.version, environment: deps.environment, logger: deps.service };

  const logger = pino(
    {
      level: cfg.level,
      messageKey: 'message',
      base,
      timestamp,
      formatters: { level: (label) => ({ level: label }), log: redactSecrets },
    },
    destination as DestinationStream,
  );

  // Access lines are written here, not through pino: their fields are known and need no
  // serializer nor redaction, and pino's generic path cost 4 to 5 µs a request (docs/benchmarks.md).
  const baseText = `,${JSON.stringify(base).slice(1, -1)}`;
  const routeTexts = new Map<string, string>();
  const accessLine = (r: AccessRecord) => {
    const failed = r.status >= 500;
    if (!logger.isLevelEnabled(failed ? 'error' : 'info')) return;
    const key = `${r.method} ${r.route}`;
    let routeText = routeTexts.get(key);
    if (routeText === undefined) {
      routeText = `,"method":${JSON.stringify(r.method)},"route":${JSON.stringify(r.route)}`;
      if (routeTexts.size < MAX_ROUTE_TEXTS) routeTexts.set(key, routeText);
    }
    const span = trace.getSpanContext(context.active());
    const ids = span ? `,"trace_id":"${span.traceId}","span_id":"${span.spanId}"` : '';
    const message = failed ? 'request failed' : 'request completed';
    const line = `{"level":"${failed ? 'error' : 'info'}"${timestamp()}${baseText},"request_id":${JSON.stringify(r.requestId)}${ids}${routeText},"status":${r.status},"duration_ms":${r.durationMs},"message":"${message}"}\n`;
    emit(line, failed ? ERROR_LEVEL : INFO_LEVEL, message, cfg.shipAccessLog, span);
  };

  const flushStream = (s: unknown): Promise<void> =>
    new Promise((resolve) => {
      const f = (s as { flush?: (cb?: (err?: unknown) => void) => void }).flush;
      if (typeof f !== 'function') return resolve();
      try {
        f.call(s, () => resolve());
      } catch {
        resolve();
      }
    });

  return {
    logger,
    accessLine,
    async flush() {
      await Promise.all([flushStream(stdout), shipper?.flush().catch(() => undefined)]);
    },
    async shutdown() {
      await this.flush();
      await shipper?.shutdown().catch(() => undefined);
      if (file) await new Promise<void>((r) => (file.once('close', () => r()), file.end()));
      if (stdout instanceof ChunkedStdout) stdout.close();
    },
  };
}
