/**
 * From prepared Sentry requests to stored issues: events arrive scrubbed, normalised and grouped
 * (event-preparation.ts, on a worker thread); sessions, transactions and spans are handled here;
 * then everything is stored, counted, and new issues and regressions announced. A request is
 * validated completely before anything is written, so a malformed item rejects the whole request
 * and nothing of it is stored.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { ErrorEvent } from '../model/error-event.js';
import type { Issue } from '../model/error-issue.js';
import type { Span } from '../model/span.js';
import type { ErrorStore, GroupedEvent, SessionCounts } from '../storage/error-store.js';
import { decodePayload } from '../storage/signal-store/errors/errors-payload.js';
import { EnvelopeError, parseItemJson, type EnvelopeItem } from './envelope.js';
import type { PreparedBody } from './event-preparation.js';
import { toGroupedEvent } from './grouped-event.js';
import { EventError } from './normalize.js';
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
  /** The receive time of a request (injectable for tests). */
  readonly now: () => number;
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
   * Takes the items of a prepared request (event-preparation.ts) in order, handling those left to
   * the main thread (sessions, transactions, spans). Throws EnvelopeError or EventError (both
   * answered with 400) at the first malformed item. `dropEvents`: events and transactions are over
   * the rate limit and left out.
   */
  prepareEnvelope(project: Project, body: PreparedBody, dropEvents: boolean, receivedMs: number): PreparedEnvelope {
    const events: GroupedEvent[] = [];
    const sessions: SessionCounts[] = [];
    const spans: Span[] = [];
    const itemTypes = new Map<string, number>();
    body.items.forEach((prepared, i) => {
      const index = i + 1;
      const what = `item ${index} (${prepared.type})`;
      switch (prepared.kind) {
        case 'bad-payload':
          throw new EnvelopeError(prepared.message);
        case 'bad-event':
          if (dropEvents) return;
          throw new EventError(prepared.message);
        case 'event':
          if (dropEvents) return;
          events.push(prepared.event);
          break;
        case 'raw': {
          const item: EnvelopeItem = { type: prepared.type, headers: prepared.headers, payload: Buffer.from(prepared.payload.buffer, prepared.payload.byteOffset, prepared.payload.byteLength) };
          if (!this.prepareOther(project, item, index, what, dropEvents, receivedMs, sessions, spans)) return;
        }
      }
      itemTypes.set(prepared.type, (itemTypes.get(prepared.type) ?? 0) + 1);
    });
    return { events, sessions, spans, itemTypes };
  }

  /** Handles a non-event item; false when it is dropped uncounted (a transaction over the rate limit). */
  private prepareOther(project: Project, item: EnvelopeItem, index: number, what: string, dropEvents: boolean, receivedMs: number, sessions: SessionCounts[], spans: Span[]): boolean {
    switch (item.type) {
      case 'transaction': {
        const payload = parseItemJson(item, index);
        if (dropEvents) return false;
        this.scrubberFor(project).scrubEvent(payload);
        spans.push(...transactionToSpans(payload, project.name, what));
        break;
      }
      case 'span': {
        // Streamed spans (v2); other span payload versions are counted only.
        const payload = parseItemJson(item, index);
        if (payload.version !== 2) break;
        this.scrubberFor(project).scrubEvent(payload);
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
    return true;
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
        const g = prepared.events[i]!;
        this.eventsTotal.inc({ project: project.name, level: g.header.level, environment: g.header.environment, release: g.header.release });
        if (o.kind === 'existing') return;
        if (o.kind === 'new') this.issuesNew.inc({ project: project.name });
        else this.regressions.inc({ project: project.name });
        // Listeners see the whole event; only new issues and regressions pay for decoding it.
        this.emit(o.kind, o.issue, decodePayload(g.payload));
      });
    }
    for (const [type, n] of prepared.itemTypes) this.items.inc({ project: project.name, type }, n);
  }

  /**
   * Stores error events that came from elsewhere than a Sentry SDK (OpenTelemetry exception span
   * events and log records), grouped the same way.
   */
  async storeEvents(project: Project, events: readonly ErrorEvent[]): Promise<void> {
    const grouped = events.map((event) => toGroupedEvent(event));
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
