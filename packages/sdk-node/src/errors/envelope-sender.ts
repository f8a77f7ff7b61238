/**
 * Sends Sentry envelopes (https://develop.sentry.dev/sdk/data-model/envelopes/) to a DSN from a
 * bounded queue: one request at a time, gzip-compressed; network failures, 429 and 5xx keep the
 * envelope for a retry with backoff, so events captured while the server is down catch up when
 * it returns; a full queue or a rejection (other 4xx) drops with a counter.
 */
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const SDK_CLIENT = 'watchkeeper-node/0.1.0';
const REQUEST_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 30_000;

/** A parsed DSN: where envelopes go and the key that authenticates them. */
export interface Dsn {
  readonly raw: string;
  readonly envelopeUrl: string;
  readonly publicKey: string;
  readonly origin: string;
}

/** Parses `https://<public key>@<host>[:port][/path]/<project id>`; throws a TypeError naming the problem. */
export function parseDsn(dsn: string): Dsn {
  let u: URL;
  try {
    u = new URL(dsn);
  } catch {
    throw new TypeError(`@watchkeeper/node: dsn "${dsn}" is not a URL`);
  }
  const m = /^(.*)\/(\d+)\/?$/.exec(u.pathname);
  if (!u.username || !m) throw new TypeError(`@watchkeeper/node: dsn must look like https://<public key>@<host>/<project id>, got "${dsn}"`);
  return { raw: dsn, publicKey: u.username, origin: u.origin, envelopeUrl: `${u.origin}${m[1]}/api/${m[2]}/envelope/` };
}

/** Serialises one event as an envelope: envelope header, item header, payload, newline-separated. */
export function eventEnvelope(eventId: string, dsn: string, payload: unknown): string {
  const body = JSON.stringify(payload);
  const header = JSON.stringify({ event_id: eventId, dsn, sent_at: new Date().toISOString(), sdk: { name: 'watchkeeper.node', version: '0.1.0' } });
  return `${header}\n${JSON.stringify({ type: 'event', length: Buffer.byteLength(body), content_type: 'application/json' })}\n${body}\n`;
}

/** Reasons an envelope is dropped, as counted. */
export type DropReason = 'queue_full' | 'rejected' | 'shutdown';

/** Bounded, retrying envelope queue. */
export class EnvelopeSender {
  private readonly queue: string[] = [];
  private sending: Promise<void> | null = null;
  private backoffMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly dsn: Dsn,
    private readonly maxQueueSize: number,
    private readonly onDrop: (reason: DropReason, count: number) => void,
  ) {}

  /** Queues an envelope; drops it (counted) when the queue is full or the sender closed. */
  enqueue(envelope: string): void {
    if (this.closed) return this.onDrop('shutdown', 1);
    if (this.queue.length >= this.maxQueueSize) return this.onDrop('queue_full', 1);
    this.queue.push(envelope);
    if (this.retryTimer === null) this.pump();
  }

  /** Resolves true once the queue is empty, false when `timeoutMs` passes first. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.backoffMs = 0;
      this.pump();
    }
    while ((this.queue.length > 0 || this.sending !== null) && Date.now() < deadline) {
      const left = deadline - Date.now();
      await Promise.race([this.sending ?? new Promise((r) => setTimeout(r, Math.min(50, left))), new Promise((r) => setTimeout(r, left))]);
      if (this.sending === null && this.retryTimer !== null) break;
    }
    return this.queue.length === 0 && this.sending === null;
  }

  /** Flushes within `timeoutMs`, then drops (counted) what is left and refuses further envelopes. */
  async close(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.queue.length > 0) this.onDrop('shutdown', this.queue.splice(0).length);
  }

  private pump(): void {
    if (this.sending !== null || this.queue.length === 0) return;
    this.sending = this.sendHead().finally(() => {
      this.sending = null;
      if (this.retryTimer === null) this.pump();
    });
  }

  private async sendHead(): Promise<void> {
    const envelope = this.queue[0]!;
    let retryAfterMs = 0;
    let outcome: 'sent' | 'retry' | 'rejected';
    try {
      const body = await gzipAsync(envelope);
      // The SDK's own requests must not produce spans nor breadcrumbs.
      const res = await context.with(suppressTracing(context.active()), () =>
        fetch(this.dsn.envelopeUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-sentry-envelope',
            'content-encoding': 'gzip',
            'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${this.dsn.publicKey}, sentry_client=${SDK_CLIENT}`,
          },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        }),
      );
      await res.arrayBuffer();
      if (res.ok) outcome = 'sent';
      else if (res.status === 429 || res.status >= 500) {
        outcome = 'retry';
        retryAfterMs = Number(res.headers.get('retry-after') ?? 0) * 1000;
      } else outcome = 'rejected';
    } catch {
      outcome = 'retry';
    }
    if (outcome === 'retry') {
      this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(retryAfterMs, this.backoffMs === 0 ? 500 : this.backoffMs * 2));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, this.backoffMs);
      this.retryTimer.unref();
      return;
    }
    this.backoffMs = 0;
    this.queue.shift();
    if (outcome === 'rejected') this.onDrop('rejected', 1);
  }
}
