/**
 * From decoded Sentry payloads to stored issues: scrub, normalise, group, store, then count and
 * announce new issues and regressions. A request is validated completely before anything is
 * written, so a malformed item rejects the whole request and nothing of it is stored.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { ErrorEvent } from '../model/error-event.js';
import type { Issue } from '../model/error-issue.js';
import type { Span } from '../model/span.js';
import type { ErrorStore, GroupedEvent, SessionCounts } from '../storage/error-store.js';
import { EnvelopeError, parseItemJson, type Envelope } from './envelope.js';
import { groupEvent } from './grouping.js';
import { normalizeEvent } from './normalize.js';
import type { Project } from './projects.js';
import { Scrubber } from './scrub.js';
import { EndedSessions, sessionAggregateCounts, sessionUpdateCounts } from './sessions.js';
import { spanItemsToSpans, transactionToSpans } from './transaction-spans.js';

/** What an issue-event listener is told: a `new` issue or a `regression` of a resolved one. */
export type IssueEventKind = 'new' | 'regression';
export type IssueEventListener = (kind: IssueEventKind, issue: Issue, event: ErrorEvent) => void;

export interface ErrorIngestorOptions {
  readonly store: ErrorStore;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Where `transaction` items go as spans; without it they are counted and dropped. */
  readonly appendSpans?: (spans: readonly Span[]) => Promise<void>;
  readonly now?: () => number;
}

/** The items of one request that passed validation, ready to store. */
export interface PreparedEnvelope {
  readonly events: readonly GroupedEvent[];
  readonly sessions: readonly SessionCounts[];
  readonly spans: readonly Span[];
  /** Item counts by type, for the items metric. */
  readonly itemTypes: ReadonlyMap<string, number>;
}

export class ErrorIngestor {
  private readonly listeners: IssueEventListener[] = [];
  private readonly endedSessions = new EndedSessions();
  /** One scrubber per project (its name verdicts are cached); a reload brings new Project objects. */
  private readonly scrubbers = new WeakMap<Project, Scrubber>();
  private readonly now: () => number;
  private readonly eventsTotal: Counter<'project' | 'level' | 'environment' | 'release'>;
  private readonly issuesNew: Counter<'project'>;
  private readonly regressions: Counter<'project'>;
  private readonly items: Counter<'project' | 'type'>;

  constructor(private readonly opts: ErrorIngestorOptions) {
    this.now = opts.now ?? Date.now;
    const registers = [opts.registry];
    this.eventsTotal = new Counter({
      name: 'watchkeeper_error_events_total',
      help: 'Error events stored, by project, level, environment and release.',
      labelNames: ['project', 'level', 'environment', 'release'],
      registers,
    });
    this.issuesNew = new Counter({ name: 'watchkeeper_error_issues_new_total', help: 'Issues created, by project.', labelNames: ['project'], registers });
    this.regressions = new Counter({
      name: 'watchkeeper_error_regressions_total',
      help: 'Resolved issues reopened by a new event, by project.',
      labelNames: ['project'],
      registers,
    });
    this.items = new Counter({
      name: 'watchkeeper_sentry_envelope_items_total',
      help: 'Sentry envelope items accepted, by project and item type.',
      labelNames: ['project', 'type'],
      registers,
    });
  }

  /** Registers a listener for new issues and regressions (the alerting pipeline). */
  onIssueEvent(listener: IssueEventListener): void {
    this.listeners.push(listener);
  }

  /**
   * Validates and prepares every item of an envelope. Throws EnvelopeError or EventError (both
   * answered with 400) on the first malformed item. `dropEvents`: events and transactions are
   * over the rate limit and left out.
   */
  prepareEnvelope(project: Project, envelope: Envelope, dropEvents: boolean): PreparedEnvelope {
    const receivedMs = this.now();
    const scrubber = this.scrubberFor(project);
    const events: GroupedEvent[] = [];
    const sessions: SessionCounts[] = [];
    const spans: Span[] = [];
    const itemTypes = new Map<string, number>();
    envelope.items.forEach((item, i) => {
      const index = i + 1;
      const what = `item ${index} (${item.type})`;
      switch (item.type) {
        case 'event':
        case 'security': {
          const payload = parseItemJson(item, index);
          if (dropEvents) return;
          events.push(this.prepareEvent(project, payload, receivedMs, scrubber, envelope.headers.event_id));
          break;
        }
        case 'transaction': {
          const payload = parseItemJson(item, index);
          if (dropEvents) return;
          scrubber.scrubEvent(payload);
          spans.push(...transactionToSpans(payload, project.name, what));
          break;
        }
        case 'span': {
          // Streamed spans (v2); other span payload versions are counted only.
          const payload = parseItemJson(item, index);
          if (payload.version !== 2) break;
          scrubber.scrubEvent(payload);
          spans.push(...spanItemsToSpans(payload, project.name, what));
          break;
        }
        case 'session': {
          const c = sessionUpdateCounts(parseItemJson(item, index), project.id, receivedMs, what, this.endedSessions);
          if (c !== null) sessions.push(c);
          break;
        }
        case 'sessions':
          sessions.push(...sessionAggregateCounts(parseItemJson(item, index), project.id, receivedMs, what));
          break;
        default:
          // attachment, client_report, check_in and types unknown here (newer SDKs) are accepted and counted only.
          if (item.type.length > 64) throw new EnvelopeError(`item ${index}: item type is longer than 64 characters`);
      }
      itemTypes.set(item.type, (itemTypes.get(item.type) ?? 0) + 1);
    });
    return { events, sessions, spans, itemTypes };
  }

  /** Validates and prepares a legacy store-endpoint body (one event). */
  prepareStoreEvent(project: Project, payload: Record<string, unknown>): PreparedEnvelope {
    const event = this.prepareEvent(project, payload, this.now(), this.scrubberFor(project));
    return { events: [event], sessions: [], spans: [], itemTypes: new Map([['event', 1]]) };
  }

  private prepareEvent(project: Project, payload: Record<string, unknown>, receivedMs: number, scrubber: Scrubber, envelopeEventId?: unknown): GroupedEvent {
    if (payload.event_id === undefined && typeof envelopeEventId === 'string') payload.event_id = envelopeEventId;
    const event = normalizeEvent(payload, project.id, receivedMs);
    // Scrubbed after normalisation, which already dropped what is not kept (source context, SDK
    // metadata), and before grouping, so titles are built from scrubbed text. The event is a fresh
    // plain JSON object owned here.
    scrubber.scrubEvent(event as unknown as Record<string, unknown>);
    return { event, ...groupEvent(event) };
  }

  private scrubberFor(project: Project): Scrubber {
    let s = this.scrubbers.get(project);
    if (s === undefined) {
      s = new Scrubber(project.scrubFields);
      this.scrubbers.set(project, s);
    }
    return s;
  }

  /** Stores prepared items; resolves once durable, then updates metrics and tells listeners. */
  async store(project: Project, prepared: PreparedEnvelope): Promise<void> {
    if (prepared.spans.length > 0 && this.opts.appendSpans) await this.opts.appendSpans(prepared.spans);
    if (prepared.events.length > 0 || prepared.sessions.length > 0) {
      const outcomes = await this.opts.store.write({ events: prepared.events, sessions: prepared.sessions });
      outcomes.forEach((o, i) => {
        const event = prepared.events[i]!.event;
        this.eventsTotal.inc({ project: project.name, level: event.level, environment: event.environment, release: event.release });
        if (o.kind === 'existing') return;
        if (o.kind === 'new') this.issuesNew.inc({ project: project.name });
        else this.regressions.inc({ project: project.name });
        this.emit(o.kind, o.issue, event);
      });
    }
    for (const [type, n] of prepared.itemTypes) this.items.inc({ project: project.name, type }, n);
  }

  /**
   * Stores error events that came from elsewhere than a Sentry SDK (OpenTelemetry exception span
   * events and log records), grouped the same way.
   */
  async storeEvents(project: Project, events: readonly ErrorEvent[]): Promise<void> {
    const grouped = events.map((event) => ({ event, ...groupEvent(event) }));
    await this.store(project, { events: grouped, sessions: [], spans: [], itemTypes: new Map() });
  }

  private emit(kind: IssueEventKind, issue: Issue, event: ErrorEvent): void {
    for (const l of this.listeners) {
      try {
        l(kind, issue, event);
      } catch (err) {
        this.opts.logger.error({ err, kind, issue_id: issue.id }, 'issue event listener failed');
      }
    }
  }
}
