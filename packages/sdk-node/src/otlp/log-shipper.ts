/**
 * The service's JSON log lines as OTLP log records, written into the open batch as they are
 * queued: the message becomes the body, the other fields attributes. What stays queued is bytes,
 * not the line and its fields, which the garbage collector would copy until the export.
 */
import type { Resource } from '@opentelemetry/resources';
import type { BatchBuilder } from './export-queue.js';
import { writeResource, writeScope } from './otlp-encoding.js';
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
const SCOPE = { name: '@watchkeeper/node' };

/** ResourceLogs and ScopeLogs: the messages open while records are written. */
const OPEN_DEPTH = 2;

/**
 * The open batch of log lines as an ExportLogsServiceRequest: the resource and scope are written
 * when a batch starts, each line's record when the line is queued, and `take()` closes the
 * messages and returns a copy of the bytes (the writer is reused by the next batch).
 */
export class LogBatch implements BatchBuilder<QueuedLine, Uint8Array> {
  private readonly w = new ProtoWriter();
  private started = false;

  constructor(private readonly resource: Resource) {}

  add(q: QueuedLine): boolean {
    if (!this.started) this.start();
    const at = this.w.checkpoint();
    try {
      writeLine(this.w, q);
      return true;
    } catch {
      this.w.rollback(at, OPEN_DEPTH);
      return false;
    }
  }

  take(): Uint8Array {
    if (!this.started) this.start();
    const w = this.w;
    w.end(); // ScopeLogs
    w.string(3, this.resource.schemaUrl);
    w.end(); // ResourceLogs
    this.started = false;
    return w.finish();
  }

  private start(): void {
    const w = this.w;
    w.reset();
    w.begin(1); // ResourceLogs
    writeResource(w, 1, this.resource);
    w.begin(2); // ScopeLogs
    writeScope(w, 1, SCOPE);
    this.started = true;
  }
}

function writeLine(w: ProtoWriter, q: QueuedLine): void {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(q.line) as Record<string, unknown>;
  } catch {
    fields = { message: q.line };
  }
  const [severityNumber, severityText] = SEVERITY.get(q.level) ?? [9, 'INFO'];
  w.begin(2); // LogRecord
  w.epochMs(1, q.timeMs);
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
  w.epochMs(11, q.timeMs);
  w.end();
}
