/**
 * The pino logger: JSON lines with timestamp, level, service, version, environment, logger name and
 * message, plus request_id / trace_id / span_id inside a request; written to stdout (or a given
 * destination), optionally to a rotating file, and shipped as OTLP log records through a bounded
 * batch queue. Lines at warn and above also become error breadcrumbs.
 */
import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import { requestStore } from './request-context.js';
import { CountingExporter } from './counting-exporter.js';
import { otlpLogExporter } from './otlp/otlp-http-exporters.js';
import type { ResolvedOptions } from './options.js';

type LoggingConfig = NonNullable<ResolvedOptions['logging']>;

/** Fields a log line carries besides its own: they are not repeated as OTLP attributes. */
const ENVELOPE_FIELDS = new Set(['level', 'timestamp', 'message', 'service', 'version', 'environment', 'trace_id', 'span_id']);
const SEVERITY: Record<string, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
};

/** Redacted before a line is written anywhere. */
const REDACT = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
];

export interface ServiceLogging {
  logger: Logger;
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
  onWarning: (line: Record<string, unknown>) => void;
}

/** Creates the service logger and its outputs. */
export function createLogging(cfg: LoggingConfig, deps: LoggingDeps): ServiceLogging {
  const stdout = cfg.destination ?? pino.destination({ dest: 1, sync: false });
  const streams: StreamEntry[] = [{ level: 'trace', stream: stdout }];
  const file = cfg.file ? pino.transport({ target: 'pino-roll', options: { file: cfg.file.path, size: cfg.file.size ?? '10m', frequency: cfg.file.frequency, limit: { count: cfg.file.keep ?? 5 }, mkdir: true } }) : null;
  if (file) streams.push({ level: 'trace', stream: file as DestinationStream });
  streams.push({ level: 'warn', stream: { write: (line: string) => deps.onWarning(parseLine(line)) } });

  let provider: LoggerProvider | null = null;
  if (cfg.ship && deps.logsUrl !== null) {
    // Records handed to the batch processor and not yet through the exporter: the processor drops
    // silently beyond its queue size, so the stream refuses (and counts) them first.
    let pending = 0;
    const exporter = new CountingExporter(
      otlpLogExporter(deps.logsUrl, 5000),
      (n) => deps.onDrop('export_failed', n),
      (n) => (pending -= n),
    );
    provider = new LoggerProvider({
      resource: deps.resource,
      processors: [new BatchLogRecordProcessor(exporter, { maxQueueSize: cfg.maxQueueSize, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 10_000 })],
    });
    const otel = provider.getLogger('@watchkeeper/node');
    streams.push({
      level: 'trace',
      stream: {
        write(line: string) {
          if (pending >= cfg.maxQueueSize) return deps.onDrop('queue_full', 1);
          pending++;
          const rec = parseLine(line);
          const attributes: Record<string, string | number | boolean> = {};
          for (const [k, v] of Object.entries(rec)) if (!ENVELOPE_FIELDS.has(k) && v !== null && v !== undefined) attributes[k] = typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
          const level = typeof rec.level === 'string' ? rec.level : 'info';
          // pino writes synchronously inside the log call, so the active context is the caller's span.
          otel.emit({ severityNumber: SEVERITY[level] ?? SeverityNumber.INFO, severityText: level.toUpperCase(), body: typeof rec.message === 'string' ? rec.message : line, attributes, context: context.active() });
        },
      },
    });
  }

  const logger = pino(
    {
      level: cfg.level,
      messageKey: 'message',
      base: { service: deps.service, version: deps.version, environment: deps.environment, logger: deps.service },
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[Filtered]' },
      mixin() {
        const req = requestStore.getStore();
        const span = trace.getSpanContext(context.active());
        if (!req && !span) return {};
        return { request_id: req?.requestId, trace_id: span?.traceId, span_id: span?.spanId };
      },
    },
    pino.multistream(streams),
  );

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
    async flush() {
      await Promise.all([flushStream(stdout), provider?.forceFlush().catch(() => undefined)]);
    },
    async shutdown() {
      await this.flush();
      await provider?.shutdown().catch(() => undefined);
      if (file) await new Promise<void>((r) => (file.once('close', () => r()), file.end()));
    },
  };
}

function parseLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { message: line };
  }
}
