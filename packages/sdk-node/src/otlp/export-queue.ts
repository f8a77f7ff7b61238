/**
 * A bounded queue of telemetry items (spans, log lines) exported in batches: when a batch is full or
 * `delayMs` after its first item. Items beyond the bound (queued plus in flight), and batches the
 * endpoint refused, are dropped and counted, never retried: the host's memory stays bounded.
 * Items go into the open batch as they come (the OTLP/HTTP batches encode them there, so a queued
 * item is bytes, not objects the garbage collector keeps copying until the export).
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
export interface BatchExporter<B> {
  export(batch: B, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** The open batch: items are added to it until `take()` closes it and starts the next one. */
export interface BatchBuilder<T, B> {
  /** Adds an item; false when the item could not be added (it is then dropped and counted). */
  add(item: T): boolean;
  /** Closes the open batch and returns it. */
  take(): B;
}

/** A batch kept as the items themselves (for exporters that encode on their own, such as gRPC). */
export class ItemBatch<T> implements BatchBuilder<T, T[]> {
  private items: T[] = [];

  add(item: T): boolean {
    this.items.push(item);
    return true;
  }

  take(): T[] {
    const items = this.items;
    this.items = [];
    return items;
  }
}

export interface ExportQueueOptions<T, B> {
  batch: BatchBuilder<T, B>;
  exporter: BatchExporter<B>;
  maxQueueSize: number;
  maxBatchSize: number;
  /** Longest wait of a queued item before its batch is exported. */
  delayMs: number;
  onDrop: (reason: 'queue_full' | 'export_failed' | 'unencodable', count: number) => void;
}

/** The bounded queue and the batches in flight. */
export class ExportQueue<T, B> {
  /** Items in the open batch. */
  private open = 0;
  /** Items in the open batch or in flight: what the bound applies to. */
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: ExportQueueOptions<T, B>) {}

  /** Queues an item; counts it as dropped when the queue is full. */
  push(item: T): void {
    if (this.pending >= this.opts.maxQueueSize) return this.opts.onDrop('queue_full', 1);
    if (!this.opts.batch.add(item)) return this.opts.onDrop('unencodable', 1);
    this.pending++;
    if (++this.open >= this.opts.maxBatchSize) this.exportBatch();
    else this.timer ??= setTimeout(() => this.exportBatch(), this.opts.delayMs).unref();
  }

  /** Exports everything queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    this.exportBatch();
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
    const count = this.open;
    if (count === 0) return;
    this.open = 0;
    const batch = this.opts.batch.take();
    const done = new Promise<void>((resolve) => {
      contextManager.with(EXPORT_CONTEXT, () =>
        this.opts.exporter.export(batch, (result) => {
          this.pending -= count;
          if (result.code !== ExportResultCode.SUCCESS) this.opts.onDrop('export_failed', count);
          resolve();
        }),
      );
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }
}
