/**
 * The contract between error-event storage backends (the embedded DuckDB signal store now,
 * ClickHouse later) and the error ingest path and issues API. Times are milliseconds since the
 * epoch. A backend groups events into issues by (project, fingerprint) and applies the issue
 * lifecycle of model/error-issue.ts atomically with storing the events, so concurrent requests
 * never create one issue twice. Writes resolve only once durable.
 */
import type { ErrorEvent, ErrorLevel } from '../model/error-event.js';
import type { Issue, IssueStatus } from '../model/error-issue.js';

/**
 * The fields of an event that the store indexes and the ingest path counts by. The whole event
 * travels beside them as JSON text, so an event prepared on a worker thread crosses to the writer
 * as a few strings rather than as an object graph.
 */
export interface EventHeader
  extends Pick<ErrorEvent, 'eventId' | 'projectId' | 'timestampMs' | 'receivedMs' | 'level' | 'platform' | 'release' | 'environment' | 'traceId' | 'spanId'> {
  /** model/error-event.ts userKey: the user counted for distinct-user totals ('' when none). */
  readonly userKey: string;
  /** The event's tags as a JSON object text. */
  readonly tagsJson: string;
}

/** An event with its grouping, ready to store. */
export interface GroupedEvent {
  readonly header: EventHeader;
  /** The whole ErrorEvent as JSON text (what the issue views read back). */
  readonly payload: string;
  readonly fingerprint: string;
  readonly title: string;
  readonly culprit: string;
  readonly type: string;
}

/** Release-health counts of sessions, as sent in `session` and `sessions` items. */
export interface SessionCounts {
  readonly projectId: number;
  readonly timestampMs: number;
  readonly release: string;
  readonly environment: string;
  /** Sessions that began (init). */
  readonly started: number;
  /** Sessions that ended, by final status. */
  readonly exited: number;
  readonly errored: number;
  readonly abnormal: number;
  readonly crashed: number;
}

export interface ErrorWrite {
  readonly events: readonly GroupedEvent[];
  readonly sessions: readonly SessionCounts[];
}

/** What storing an event did to its issue: `new` issue, a `regression` of a resolved one, or neither. */
export interface EventOutcome {
  readonly eventId: string;
  readonly issue: Issue;
  readonly kind: 'existing' | 'new' | 'regression';
}

export type IssueSort = 'last_seen' | 'first_seen' | 'count';

export interface IssueQuery {
  readonly projectId?: number;
  readonly status?: IssueStatus;
  readonly release?: string;
  readonly environment?: string;
  readonly level?: ErrorLevel;
  /** Case-insensitive substring of the title, culprit or type. */
  readonly text?: string;
  readonly sort: IssueSort;
  readonly limit: number;
  readonly offset: number;
}

/** An issue with its distinct-user count. */
export interface IssueSummary extends Issue {
  readonly userCount: number;
}

export interface IssuePage {
  readonly issues: readonly IssueSummary[];
  readonly total: number;
}

/** Count per value (release, environment, tag value), largest first. */
export interface ValueCount {
  readonly value: string;
  readonly count: number;
}

export interface IssueDetail {
  readonly issue: IssueSummary;
  readonly releases: readonly ValueCount[];
  readonly environments: readonly ValueCount[];
  /** Per tag key, the most frequent values. */
  readonly tags: Readonly<Record<string, readonly ValueCount[]>>;
  /** Events per hour over the last `hours` hours, oldest first, starting at `hourlyStartMs`. */
  readonly hourlyStartMs: number;
  readonly hourly: readonly number[];
  readonly latestEvent: StoredErrorEvent | null;
}

export interface StoredErrorEvent {
  readonly issueId: number;
  readonly event: ErrorEvent;
}

export interface EventPage {
  readonly events: readonly StoredErrorEvent[];
  /** Pass back as `before` for the next (older) page; null on the last page. */
  readonly next: { readonly timestampMs: number; readonly eventId: string } | null;
}

/** A status change from the API; optional fields apply to `ignored`. */
export interface StatusChange {
  readonly status: IssueStatus;
  readonly ignoreUntilCount?: number;
  readonly ignoreUntilMs?: number;
}

export interface ReleaseSummary {
  readonly projectId: number;
  readonly release: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly eventCount: number;
  readonly newIssues: number;
  readonly sessions: { readonly started: number; readonly exited: number; readonly errored: number; readonly abnormal: number; readonly crashed: number };
  /** 1 − crashed/started, or null without sessions. */
  readonly crashFreeRate: number | null;
}

export interface ErrorStore {
  /** Groups and stores events and session counts in one durable unit; returns each event's outcome. */
  write(batch: ErrorWrite): Promise<readonly EventOutcome[]>;
  listIssues(query: IssueQuery): Promise<IssuePage>;
  /** One issue's current state; null when no such issue. */
  issue(id: number): Promise<Issue | null>;
  /** One issue with its distributions and latest event; null when no such issue. */
  issueDetail(id: number, nowMs: number, hours: number): Promise<IssueDetail | null>;
  /** An issue's events, newest first, `limit` per page, strictly older than `before`. */
  issueEvents(id: number, limit: number, before?: { timestampMs: number; eventId: string }): Promise<EventPage>;
  /** Changes an issue's status; null when no such issue. */
  setStatus(id: number, change: StatusChange, nowMs: number): Promise<Issue | null>;
  /** Deletes an issue and its events; false when no such issue. */
  deleteIssue(id: number): Promise<boolean>;
  listReleases(projectId?: number): Promise<readonly ReleaseSummary[]>;
  /** Deletes events and session counts older than `cutoffMs`, and issues left without events. */
  deleteBefore(cutoffMs: number): Promise<void>;
}
