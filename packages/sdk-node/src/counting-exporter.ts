/** Wraps an OTel exporter to count what it failed to deliver (those items are dropped, not retried). */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

interface Exporter<T> {
  export(items: T[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/** An exporter that reports the size of every failed batch to `onFailed`. */
export class CountingExporter<T> implements Exporter<T> {
  constructor(
    private readonly inner: Exporter<T>,
    private readonly onFailed: (count: number) => void,
  ) {}

  export(items: T[], done: (result: ExportResult) => void): void {
    this.inner.export(items, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.onFailed(items.length);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
