/**
 * What every log ingest path (Loki push, JSON lines, OTLP logs) shares: the per-request list of
 * rejected records, the self metrics, and storing a batch with the store's errors mapped to HTTP
 * answers (429 with Retry-After when the write queue is full, 503 while shutting down).
 */
import { Counter, type Registry } from 'prom-client';
import { ApiError, tooManyRequests, unavailable } from '../api/errors.js';
import type { LogRecord } from '../model/log-record.js';
import type { LogStore } from '../storage/log-store.js';

/** Rejected records of one request, each with where it was and why. */
export class RecordRejections {
  /** Reasons shown to the client; only the first few are kept, the count is exact. */
  readonly shown: string[] = [];
  count = 0;

  constructor(private readonly maxShown = 10) {}

  add(where: string, why: string): void {
    this.count++;
    if (this.shown.length < this.maxShown) this.shown.push(`${where}: ${why}`);
  }

  /** `2 of 10 records rejected: line 3: invalid JSON ...; line 7: ...` */
  summary(total: number, noun: string): string {
    const more = this.count > this.shown.length ? `; and ${this.count - this.shown.length} more` : '';
    return `${this.count} of ${total} ${noun} rejected: ${this.shown.join('; ')}${more}`;
  }
}

/** Counters of the log ingest paths, by protocol ("loki_push", "jsonlines", "otlp_http", "otlp_grpc"). */
export interface LogIngestMetrics {
  readonly lines: Counter<'protocol'>;
  readonly rejected: Counter<'protocol'>;
  readonly requests: Counter<'protocol' | 'code'>;
}

const byRegistry = new WeakMap<Registry, LogIngestMetrics>();

/** The log ingest metrics registered on `registry`, created on first use. */
export function logIngestMetricsFor(registry: Registry): LogIngestMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: LogIngestMetrics = {
    lines: new Counter({ name: 'watchkeeper_ingest_log_lines_total', help: 'Log lines stored, by protocol.', labelNames: ['protocol'], registers }),
    rejected: new Counter({
      name: 'watchkeeper_ingest_log_lines_rejected_total',
      help: 'Log lines rejected as malformed, by protocol.',
      labelNames: ['protocol'],
      registers,
    }),
    requests: new Counter({
      name: 'watchkeeper_ingest_log_requests_total',
      help: 'Log push requests answered, by protocol and status code.',
      labelNames: ['protocol', 'code'],
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

/**
 * Appends records and resolves once they are durable. Store overload becomes a 429 ApiError,
 * a closed store a 503; anything else propagates (500).
 */
export async function storeLogRecords(store: LogStore, records: readonly LogRecord[]): Promise<void> {
  if (records.length === 0) return;
  try {
    await store.append(records);
  } catch (err) {
    throw toApiError(err);
  }
}

/** Maps the store's StoreOverloadedError / StoreClosedError (by name, to stay backend-neutral) to HTTP errors. */
export function toApiError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  const e = err as { name?: string; message?: string; retryAfterSeconds?: number };
  if (e.name === 'StoreOverloadedError') return tooManyRequests(e.message ?? 'log store overloaded', e.retryAfterSeconds ?? 1);
  if (e.name === 'StoreClosedError') return unavailable('the log store is shutting down', 5);
  return err;
}
