/**
 * A bounded queue of telemetry items (spans, log lines) exported in batches: when a batch is full or
 * `delayMs` after its first item. Items beyond the bound (queued plus in flight), and batches the
 * endpoint refused, are dropped and counted, never retried: the host's memory stays bounded.
 * Exports run outside any request and with tracing suppressed, as the OpenTelemetry SDK's batch
 * processor does: the push that fills a batch may come from inside a request, whose trace would
 * otherwise gain a span for the export's HTTP call (and the exporter's sockets its context).
 */
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import { contextManager } from '../request-context.js';
import { LEAN_ROOT_CONTEXT } from '../tracing/lean-context.js';

/** The context exports run in: no request, no span, tracing suppressed. */
const EXPORT_CONTEXT = suppressTracing(LEAN_ROOT_CONTEXT);

/** What the queue exports through (an OTLP exporter). */
export interface BatchExporter<T> {
  export(items: T[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export interface ExportQueueOptions<T> {
  exporter: BatchExporter<T>;
  maxQueueSize: number;
  maxBatchSize: number;
  /** Longest wait of a queued item before its batch is exported. */
  delayMs: number;
  onDrop: (reason: 'queue_full' | 'export_failed', count: number) => void;
}

/** The bounded queue and the batches in flight. */
export class ExportQueue<T> {
  private queue: T[] = [];
  /** Items queued or in flight: what the bound applies to. */
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: ExportQueueOptions<T>) {}

  /** Queues an item; counts it as dropped when the queue is full. */
  push(item: T): void {
    if (this.pending >= this.opts.maxQueueSize) return this.opts.onDrop('queue_full', 1);
    this.pending++;
    this.queue.push(item);
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
      contextManager.with(EXPORT_CONTEXT, () =>
        this.opts.exporter.export(batch, (result) => {
          this.pending -= batch.length;
          if (result.code !== ExportResultCode.SUCCESS) this.opts.onDrop('export_failed', batch.length);
          resolve();
        }),
      );
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }
}
