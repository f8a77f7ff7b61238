/**
 * OpenTelemetry exceptions → error events in the same issue stream as Sentry's: exception span
 * events (`exception.type`, `exception.message`, `exception.stacktrace`) and log records carrying
 * those attributes. Each event keeps its trace and span id, so the issue links to its trace. A
 * service's exceptions go to the project named like the service (or listing it in `services`);
 * those of other services are counted and dropped.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { ErrorEvent, ErrorLevel } from '../model/error-event.js';
import type { LogRecord } from '../model/log-record.js';
import { attributeValueToString, EXCEPTION_EVENT_NAME, findAttribute, type Attribute, type Span } from '../model/span.js';
import type { ErrorIngestor } from './error-ingestor.js';
import type { Project, ProjectRegistry } from './projects.js';
import { scrubCardNumbers } from './scrub.js';
import { parseStackTrace } from './stacktrace-text.js';

export interface OtelExceptionOptions {
  readonly ingestor: ErrorIngestor;
  readonly projects: () => ProjectRegistry;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
}

/** The resource facts an error event carries. */
interface Origin {
  readonly service: string;
  readonly release: string;
  readonly environment: string;
  readonly host: string;
  readonly platform: string;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? '' : String(v));

/**
 * The exception's type name. OpenTelemetry JS records an error's `code` as `exception.type` when it
 * has one (a DOMException TimeoutError becomes "23", a system error "ECONNRESET"); a bare number
 * names nothing, so the type then comes from the stack trace's first line ("TimeoutError: ...").
 */
export function exceptionTypeName(type: string, stacktrace: string): string {
  if (!/^\d+$/.test(type)) return type;
  const head = /^([A-Za-z_$][\w$.]*):/.exec(stacktrace);
  return head ? head[1]! : type;
}

function fromAttributes(attrs: readonly Attribute[], service: string): Origin {
  const get = (k: string): string => {
    const v = findAttribute(attrs, k);
    return v === undefined ? '' : attributeValueToString(v);
  };
  return {
    service,
    release: get('service.version'),
    environment: get('deployment.environment.name') || get('deployment.environment'),
    host: get('host.name'),
    platform: get('telemetry.sdk.language'),
  };
}

function fromRecord(resource: Readonly<Record<string, unknown>>, service: string): Origin {
  return {
    service,
    release: text(resource['service.version']),
    environment: text(resource['deployment.environment.name']) || text(resource['deployment.environment']),
    host: text(resource['host.name']),
    platform: text(resource['telemetry.sdk.language']),
  };
}

/** Feeds OpenTelemetry exceptions into the error ingestor; `observe` fits the trace receiver's span observer. */
export class OtelExceptionCollector {
  private pending: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly unmatched: Counter<'source'>;

  constructor(private readonly opts: OtelExceptionOptions) {
    this.now = opts.now ?? Date.now;
    this.unmatched = new Counter({
      name: 'watchkeeper_error_otel_unmatched_total',
      help: 'OpenTelemetry exceptions dropped because no project is configured for their service, by source (span or log).',
      labelNames: ['source'],
      registers: [opts.registry],
    });
  }

  /** The two-phase observe of the trace receiver: keeps only the spans with exception events until they are stored. */
  prepare(spans: readonly Span[]): () => void {
    const withExceptions = spans.filter((s) => s.events.some((ev) => ev.name === EXCEPTION_EVENT_NAME));
    return () => {
      if (withExceptions.length > 0) this.observe(withExceptions);
    };
  }

  /** Turns the exception events of stored spans into error events (asynchronously; see flush). */
  observe(spans: readonly Span[]): void {
    const byProject = new Map<Project, ErrorEvent[]>();
    const receivedMs = this.now();
    for (const span of spans) {
      for (const ev of span.events) {
        if (ev.name !== EXCEPTION_EVENT_NAME) continue;
        const project = this.projectFor(span.service, 'span');
        if (project === null) continue;
        const attr = (k: string): string => {
          const v = findAttribute(ev.attributes, k);
          return v === undefined ? '' : attributeValueToString(v);
        };
        const event = this.event(project, fromAttributes(span.resource.attributes, span.service), {
          type: attr('exception.type'),
          message: attr('exception.message'),
          stacktrace: attr('exception.stacktrace'),
          escaped: attr('exception.escaped') === 'true',
          level: 'error',
          timeMs: Number(ev.timeNs / 1_000_000n),
          receivedMs,
          transaction: span.name,
          traceId: span.traceId,
          spanId: span.spanId,
        });
        this.add(byProject, project, event);
      }
    }
    this.store(byProject);
  }

  /** Turns log records with `exception.*` attributes into error events. */
  observeLogs(records: readonly LogRecord[]): void {
    const byProject = new Map<Project, ErrorEvent[]>();
    const receivedMs = this.now();
    for (const r of records) {
      const type = text(r.attributes['exception.type']);
      const message = text(r.attributes['exception.message']);
      if (type === '' && message === '') continue;
      const project = this.projectFor(r.service, 'log');
      if (project === null) continue;
      const level: ErrorLevel = r.level === 'fatal' ? 'fatal' : r.level === 'warn' ? 'warning' : 'error';
      const event = this.event(project, fromRecord(r.resource, r.service), {
        type,
        message: message || r.body,
        stacktrace: text(r.attributes['exception.stacktrace']),
        escaped: false,
        level,
        timeMs: Number(r.timeNs / 1_000_000n),
        receivedMs,
        transaction: '',
        traceId: r.traceId,
        spanId: r.spanId,
      });
      this.add(byProject, project, event);
    }
    this.store(byProject);
  }

  /** Resolves when every exception observed so far has been stored or its failure logged. */
  flush(): Promise<void> {
    return this.pending;
  }

  private projectFor(service: string, source: 'span' | 'log'): Project | null {
    const project = this.opts.projects().forService(service);
    if (project === null) this.unmatched.inc({ source });
    return project;
  }

  private add(byProject: Map<Project, ErrorEvent[]>, project: Project, event: ErrorEvent): void {
    const list = byProject.get(project);
    if (list) list.push(event);
    else byProject.set(project, [event]);
  }

  private store(byProject: Map<Project, ErrorEvent[]>): void {
    for (const [project, events] of byProject) {
      this.pending = this.pending.then(() =>
        this.opts.ingestor.storeEvents(project, events).catch((err: Error) => {
          this.opts.logger.warn({ err, project: project.name, events: events.length }, 'storing OpenTelemetry exceptions failed');
        }),
      );
    }
  }

  private event(
    project: Project,
    origin: Origin,
    e: {
      type: string;
      message: string;
      stacktrace: string;
      escaped: boolean;
      level: ErrorLevel;
      timeMs: number;
      receivedMs: number;
      transaction: string;
      traceId: string;
      spanId: string;
    },
  ): ErrorEvent {
    const frames = parseStackTrace(e.stacktrace);
    const message = scrubCardNumbers(e.message);
    const type = exceptionTypeName(e.type, e.stacktrace);
    return {
      eventId: randomUUID().replaceAll('-', ''),
      projectId: project.id,
      timestampMs: e.timeMs > 0 && e.timeMs <= e.receivedMs + 60_000 ? e.timeMs : e.receivedMs,
      receivedMs: e.receivedMs,
      level: e.level,
      platform: origin.platform || 'other',
      logger: '',
      release: origin.release,
      environment: origin.environment,
      serverName: origin.host,
      transaction: e.transaction,
      message: type === '' ? message : '',
      messageTemplate: '',
      messageParams: [],
      exceptions: type === '' ? [] : [{ type, value: message, module: '', mechanism: { type: 'opentelemetry', handled: !e.escaped, synthetic: false }, frames }],
      tags: { service: origin.service },
      user: null,
      request: null,
      contexts: e.traceId === '' ? {} : { trace: { trace_id: e.traceId, span_id: e.spanId } },
      breadcrumbs: [],
      extra: {},
      sdk: { name: 'opentelemetry', version: '' },
      fingerprint: [],
      traceId: e.traceId,
      spanId: e.spanId,
    };
  }
}
