/**
 * Ships the service's JSON log lines as OTLP log records. A line is queued as written (its text,
 * level, time and span context: no parsing, no record object on the logging path) and turned into
 * a record when its batch is exported: the message becomes the body, the other fields attributes.
 * The queue is bounded; lines beyond it, and batches the endpoint refused, are dropped and counted.
 */
import type { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import type { Resource } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import { ProtoWriter, type AnyValueInput } from './proto-writer.js';

/** A log line waiting to be shipped. */
export interface QueuedLine {
  line: string;
  /** pino's numeric level. */
  level: number;
  timeMs: number;
  traceId: string | undefined;
  spanId: string | undefined;
  traceFlags: number;
}

/** Fields of a line that the record carries elsewhere (body, severity, ids, resource): not repeated as attributes. */
const ENVELOPE_FIELDS = new Set(['level', 'timestamp', 'message', 'service', 'version', 'environment', 'trace_id', 'span_id']);
/** pino's standard levels → OTel severity number and text. */
const SEVERITY = new Map<number, [number, string]>([
  [10, [1, 'TRACE']],
  [20, [5, 'DEBUG']],
  [30, [9, 'INFO']],
  [40, [13, 'WARN']],
  [50, [17, 'ERROR']],
  [60, [21, 'FATAL']],
]);
const SCOPE_NAME = '@watchkeeper/node';
const NANOS_PER_MS = 1_000_000n;

/** Writes an ExportLogsServiceRequest for `lines` (one resource, one scope). */
export function encodeLogLines(resource: Resource, lines: readonly QueuedLine[], w: ProtoWriter): Uint8Array {
  w.reset();
  w.begin(1); // ResourceLogs
  w.begin(1);
  w.attributes(1, resource.attributes as Record<string, AnyValueInput>);
  w.end();
  w.begin(2); // ScopeLogs
  w.begin(1);
  w.string(1, SCOPE_NAME);
  w.end();
  for (const q of lines) writeLine(w, q);
  w.end();
  w.string(3, resource.schemaUrl);
  w.end();
  return w.finish();
}

function writeLine(w: ProtoWriter, q: QueuedLine): void {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(q.line) as Record<string, unknown>;
  } catch {
    fields = { message: q.line };
  }
  const [severityNumber, severityText] = SEVERITY.get(q.level) ?? [9, 'INFO'];
  const time = BigInt(q.timeMs) * NANOS_PER_MS;
  w.begin(2); // LogRecord
  w.fixed64(1, time);
  w.uint(2, severityNumber);
  w.string(3, severityText);
  w.anyValue(5, typeof fields.message === 'string' ? fields.message : q.line);
  for (const key in fields) {
    const v = fields[key];
    if (ENVELOPE_FIELDS.has(key) || v === null || v === undefined) continue;
    // Nested values are kept as their JSON text, as log attributes are flat strings in most backends.
    w.keyValue(6, key, typeof v === 'object' ? JSON.stringify(v) : (v as AnyValueInput));
  }
  w.fixed32(8, q.traceFlags);
  w.hexBytes(9, q.traceId);
  w.hexBytes(10, q.spanId);
  w.fixed64(11, time);
  w.end();
}

export interface LogShipperOptions {
  exporter: OTLPExporterBase<QueuedLine[]>;
  maxQueueSize: number;
  maxBatchSize: number;
  /** Longest wait of a queued line before its batch is exported. */
  delayMs: number;
  onDrop: (reason: 'queue_full' | 'export_failed', count: number) => void;
}

/** The bounded queue of lines and the batches in flight. */
export class LogShipper {
  private queue: QueuedLine[] = [];
  /** Lines queued or in flight: what the bound applies to. */
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: LogShipperOptions) {}

  /** Queues a line; counts it as dropped when the queue is full. */
  push(q: QueuedLine): void {
    if (this.pending >= this.opts.maxQueueSize) return this.opts.onDrop('queue_full', 1);
    this.pending++;
    this.queue.push(q);
    if (this.queue.length >= this.opts.maxBatchSize) this.exportBatch();
    else this.timer ??= setTimeout(() => this.exportBatch(), this.opts.delayMs).unref();
  }

  /** Exports everything queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) this.exportBatch();
    await Promise.all(this.inFlight);
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.opts.exporter.shutdown();
  }

  private exportBatch(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue.length <= this.opts.maxBatchSize ? this.queue : this.queue.slice(0, this.opts.maxBatchSize);
    this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
    if (this.queue.length > 0) this.timer = setTimeout(() => this.exportBatch(), this.opts.delayMs).unref();
    if (batch.length === 0) return;
    const done = new Promise<void>((resolve) => {
      this.opts.exporter.export(batch, (result) => {
        this.pending -= batch.length;
        if (result.code !== ExportResultCode.SUCCESS) this.opts.onDrop('export_failed', batch.length);
        resolve();
      });
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }
}
