/**
 * Builds Sentry events from errors and messages (trace id, request id and breadcrumbs attached,
 * secrets scrubbed, sampled, filtered) and hands them to the envelope sender.
 */
import { trace, context } from '@opentelemetry/api';
import { randomBytes, randomUUID } from 'node:crypto';
import { requestStore } from '../request-context.js';
import type { Breadcrumb, ErrorEvent, User } from './event.js';
import { parseStack } from './event.js';
import { scrub, scrubUrl, sensitiveKeyMatcher } from './scrub.js';
import { EnvelopeSender, eventEnvelope, parseDsn, type DropReason } from './envelope-sender.js';

/** What a caller may attach to one captured event. */
export interface CaptureContext {
  tags?: Record<string, string>;
  user?: User;
  extra?: Record<string, unknown>;
  level?: ErrorEvent['level'];
  /** How the error was caught (Sentry's mechanism type); unhandled ones are marked so. */
  mechanism?: { type: string; handled: boolean };
}

export interface ErrorReporterOptions {
  dsn: string | null;
  service: string;
  version: string;
  environment: string;
  sampleRate: number;
  maxQueueSize: number;
  maxBreadcrumbs: number;
  ignoreErrors?: (string | RegExp)[];
  scrubFields?: string[];
  beforeSend?: (event: ErrorEvent) => ErrorEvent | null;
  onDrop: (reason: DropReason | 'sampled' | 'ignored' | 'before_send', count: number) => void;
  /** Called when building or sending fails inside the SDK (logged, never thrown). */
  onInternalError: (err: unknown) => void;
}

/** Captures errors and messages as Sentry events. Never throws into the caller. */
export class ErrorReporter {
  private readonly sender: EnvelopeSender | null;
  private readonly dsnRaw: string;
  private readonly breadcrumbs: Breadcrumb[] = [];
  private readonly tags: Record<string, string> = {};
  private user: User | undefined = undefined;
  private readonly isSensitive: (key: string) => boolean;
  /** Origin the sender posts to, so outgoing-HTTP breadcrumbs can skip the SDK's own calls. */
  readonly origin: string | null;

  constructor(private readonly opts: ErrorReporterOptions) {
    const dsn = opts.dsn === null ? null : parseDsn(opts.dsn);
    this.dsnRaw = dsn?.raw ?? '';
    this.origin = dsn?.origin ?? null;
    this.sender = dsn === null ? null : new EnvelopeSender(dsn, opts.maxQueueSize, opts.onDrop);
    this.isSensitive = sensitiveKeyMatcher(opts.scrubFields);
  }

  setTag(key: string, value: string): void {
    this.tags[key] = value;
  }

  setUser(user: User | null): void {
    this.user = user ?? undefined;
  }

  /** Remembers a breadcrumb; the oldest is forgotten beyond the limit. */
  addBreadcrumb(crumb: Omit<Breadcrumb, 'timestamp'> & { timestamp?: number }): void {
    this.breadcrumbs.push({ ...crumb, timestamp: crumb.timestamp ?? Date.now() / 1000 });
    if (this.breadcrumbs.length > this.opts.maxBreadcrumbs) this.breadcrumbs.shift();
  }

  /** Captures an error (anything thrown); returns the event id, or "" when not sent. */
  captureException(error: unknown, ctx: CaptureContext = {}): string {
    try {
      const err = error instanceof Error ? error : new Error(typeof error === 'string' ? error : `Non-error thrown: ${safeString(error)}`);
      if (this.ignored(err)) {
        this.opts.onDrop('ignored', 1);
        return '';
      }
      const exception = { type: err.name || 'Error', value: err.message, mechanism: ctx.mechanism ?? { type: 'generic', handled: true }, stacktrace: { frames: parseStack(err.stack) } };
      return this.send({ exception: { values: [exception] } }, ctx, 'error');
    } catch (e) {
      this.opts.onInternalError(e);
      return '';
    }
  }

  /** Captures a message; returns the event id, or "" when not sent. */
  captureMessage(message: string, ctx: CaptureContext = {}): string {
    try {
      return this.send({ message: { formatted: message } }, ctx, 'info');
    } catch (e) {
      this.opts.onInternalError(e);
      return '';
    }
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.sender?.flush(timeoutMs) ?? Promise.resolve(true);
  }

  close(timeoutMs: number): Promise<void> {
    return this.sender?.close(timeoutMs) ?? Promise.resolve();
  }

  private ignored(err: Error): boolean {
    for (const p of this.opts.ignoreErrors ?? []) {
      if (typeof p === 'string' ? err.message.includes(p) || err.name === p : p.test(err.message) || p.test(err.name)) return true;
    }
    return false;
  }

  private send(body: Pick<ErrorEvent, 'exception' | 'message'>, ctx: CaptureContext, defaultLevel: ErrorEvent['level']): string {
    if (this.sender === null) return '';
    if (Math.random() >= this.opts.sampleRate) {
      this.opts.onDrop('sampled', 1);
      return '';
    }
    const spanContext = trace.getSpanContext(context.active());
    const request = requestStore.getStore();
    const eventId = randomUUID().replaceAll('-', '');
    const tags: Record<string, string> = { ...this.tags, ...ctx.tags };
    if (request) tags.request_id = request.requestId;
    const raw: ErrorEvent = {
      event_id: eventId,
      timestamp: Date.now() / 1000,
      platform: 'node',
      level: ctx.level ?? defaultLevel,
      logger: this.opts.service,
      server_name: this.opts.service,
      // The bare version, as the service's OpenTelemetry resource names it (service.version), so the
      // errors Watchkeeper derives from span exception events fall under the same release.
      release: this.opts.version,
      environment: this.opts.environment,
      ...body,
      tags,
      contexts: {
        // Outside a traced request a fresh trace id still lets the event be correlated.
        trace: spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : { trace_id: randomBytes(16).toString('hex'), span_id: randomBytes(8).toString('hex') },
        runtime: { name: 'node', version: process.version },
      },
      breadcrumbs: { values: this.breadcrumbs.slice() },
      sdk: { name: 'watchkeeper.node', version: '0.1.0' },
    };
    if (request) {
      raw.transaction = `${request.method} ${request.route ?? request.url.split('?')[0]}`;
      raw.request = { method: request.method, url: scrubUrl(request.url, this.isSensitive), headers: headerStrings(request.headers) };
    }
    const user = ctx.user ?? this.user;
    if (user) raw.user = user;
    if (ctx.extra) raw.extra = ctx.extra;
    const scrubbed = scrub(raw, this.isSensitive) as ErrorEvent;
    const event = this.opts.beforeSend ? this.opts.beforeSend(scrubbed) : scrubbed;
    if (event === null) {
      this.opts.onDrop('before_send', 1);
      return '';
    }
    this.sender.enqueue(eventEnvelope(eventId, this.dsnRaw, event));
    return eventId;
  }
}

function headerStrings(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
