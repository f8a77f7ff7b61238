/**
 * The issues API: list and search issues, one issue with its distributions and latest event, its
 * events page by page, status changes and deletion; releases with their health; the configured
 * projects and their DSNs. Reads need the `read` scope, changes `admin`. Answers use the
 * Prometheus API envelope ({"status":"success","data":...}); times are RFC 3339.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDuration } from '../../config/duration.js';
import { ERROR_LEVELS, type ErrorEvent, type ErrorLevel } from '../../model/error-event.js';
import type { Issue, IssueStatus } from '../../model/error-issue.js';
import type { ErrorStore, IssueSort, IssueSummary, ReleaseSummary, StatusChange } from '../../storage/error-store.js';
import { formatDsn, type ProjectRegistry } from '../../errors/projects.js';
import { badData, notFound } from '../errors.js';

export interface ErrorsApiDeps {
  readonly store: ErrorStore;
  readonly projects: () => ProjectRegistry;
  /** The URL SDKs reach this server at (server.external_url, else the listen address): DSNs are built on it. */
  readonly externalUrl: () => string;
  readonly now?: () => number;
}

const STATUSES: readonly IssueStatus[] = ['unresolved', 'resolved', 'resolved_in_next_release', 'ignored'];
const SORTS: readonly IssueSort[] = ['last_seen', 'first_seen', 'count'];
const MAX_PAGE = 1000;
const MAX_HOURS = 24 * 90;

const iso = (ms: number): string => new Date(ms).toISOString();
const success = (data: unknown): { status: 'success'; data: unknown } => ({ status: 'success', data });

function issueJson(i: Issue | IssueSummary): Record<string, unknown> {
  return {
    id: String(i.id),
    project_id: i.projectId,
    title: i.title,
    culprit: i.culprit,
    type: i.type,
    level: i.level,
    platform: i.platform,
    status: i.status,
    regressed: i.regressed,
    count: i.count,
    user_count: 'userCount' in i ? i.userCount : undefined,
    first_seen: iso(i.firstSeenMs),
    last_seen: iso(i.lastSeenMs),
    first_release: i.firstRelease,
    last_release: i.lastRelease,
    resolved_release: i.resolvedRelease || undefined,
    ignore_until_count: i.ignoreUntilCount || undefined,
    ignore_until: i.ignoreUntilMs ? iso(i.ignoreUntilMs) : undefined,
    status_changed: iso(i.changedMs),
    fingerprint: i.fingerprint,
  };
}

function eventJson(e: ErrorEvent): Record<string, unknown> {
  return { ...e, timestamp: iso(e.timestampMs), received: iso(e.receivedMs) };
}

function releaseJson(r: ReleaseSummary): Record<string, unknown> {
  return {
    project_id: r.projectId,
    release: r.release,
    first_seen: iso(r.firstSeenMs),
    last_seen: iso(r.lastSeenMs),
    event_count: r.eventCount,
    new_issues: r.newIssues,
    sessions: r.sessions,
    crash_free_rate: r.crashFreeRate,
  };
}

function one(q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badData(`parameter "${name}" must be given once`);
  return v;
}

function intParam(q: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = one(q, name);
  if (v === undefined || v === '') return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badData(`parameter "${name}" must be an integer from ${min} to ${max}`);
  return Number(v);
}

function enumParam<T extends string>(q: Record<string, unknown>, name: string, values: readonly T[]): T | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (!(values as readonly string[]).includes(v)) throw badData(`parameter "${name}" must be one of ${values.join(', ')}`);
  return v as T;
}

function issueId(req: FastifyRequest): number {
  const raw = (req.params as { id: string }).id;
  if (!/^\d{1,15}$/.test(raw)) throw badData(`invalid issue id "${raw.slice(0, 32)}": expected a number`);
  return Number(raw);
}

/** A project given by id or name; undefined when not given. */
function projectParam(deps: ErrorsApiDeps, q: Record<string, unknown>): number | undefined {
  const v = one(q, 'project');
  if (v === undefined || v === '') return undefined;
  const projects = deps.projects();
  if (/^\d+$/.test(v)) return Number(v);
  const byName = projects.list().find((p) => p.name === v);
  if (!byName) throw badData(`unknown project "${v}"`);
  return byName.id;
}

/** Parses a PUT body: {status, ignore_until_count?, ignore_until? (RFC 3339), ignore_duration? (e.g. 1h)}. */
function statusChange(body: unknown, nowMs: number): StatusChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badData('expected a JSON object like {"status":"resolved"}');
  const b = body as Record<string, unknown>;
  if (typeof b.status !== 'string' || !(STATUSES as readonly string[]).includes(b.status)) throw badData(`"status" must be one of ${STATUSES.join(', ')}`);
  const status = b.status as IssueStatus;
  let ignoreUntilCount: number | undefined;
  let ignoreUntilMs: number | undefined;
  if (b.ignore_until_count !== undefined) {
    if (typeof b.ignore_until_count !== 'number' || !Number.isSafeInteger(b.ignore_until_count) || b.ignore_until_count < 1) {
      throw badData('"ignore_until_count" must be a positive integer');
    }
    ignoreUntilCount = b.ignore_until_count;
  }
  if (b.ignore_until !== undefined) {
    const ms = typeof b.ignore_until === 'string' ? Date.parse(b.ignore_until) : Number.NaN;
    if (!Number.isFinite(ms)) throw badData('"ignore_until" must be an RFC 3339 time');
    ignoreUntilMs = ms;
  }
  if (b.ignore_duration !== undefined) {
    const d = typeof b.ignore_duration === 'string' ? parseDuration(b.ignore_duration) : null;
    if (d === null || d <= 0) throw badData('"ignore_duration" must be a duration like 1h');
    ignoreUntilMs = nowMs + d;
  }
  if (status !== 'ignored' && (ignoreUntilCount !== undefined || ignoreUntilMs !== undefined)) throw badData('ignore limits apply only to status "ignored"');
  return { status, ignoreUntilCount, ignoreUntilMs };
}

export function registerErrorsApi(app: FastifyInstance, deps: ErrorsApiDeps): void {
  const now = deps.now ?? Date.now;

  app.get('/api/v1/issues', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const page = await deps.store.listIssues({
      projectId: projectParam(deps, q),
      status: enumParam(q, 'status', STATUSES),
      release: one(q, 'release') || undefined,
      environment: one(q, 'environment') || undefined,
      level: enumParam<ErrorLevel>(q, 'level', ERROR_LEVELS),
      text: one(q, 'query') || undefined,
      sort: enumParam(q, 'sort', SORTS) ?? 'last_seen',
      limit: intParam(q, 'limit', 100, 1, MAX_PAGE),
      offset: intParam(q, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
    });
    return success({ total: page.total, issues: page.issues.map(issueJson) });
  });

  app.get('/api/v1/issues/:id', { config: { scope: 'read' } }, async (req) => {
    const id = issueId(req);
    const hours = intParam(req.query as Record<string, unknown>, 'hours', 24, 1, MAX_HOURS);
    const d = await deps.store.issueDetail(id, now(), hours);
    if (d === null) throw notFound(`issue ${id} does not exist`);
    return success({
      ...issueJson(d.issue),
      releases: d.releases,
      environments: d.environments,
      tags: d.tags,
      hourly: { start: iso(d.hourlyStartMs), step_seconds: 3600, counts: d.hourly },
      latest_event: d.latestEvent ? eventJson(d.latestEvent.event) : null,
    });
  });

  app.get('/api/v1/issues/:id/events', { config: { scope: 'read' } }, async (req) => {
    const id = issueId(req);
    const q = req.query as Record<string, unknown>;
    const limit = intParam(q, 'limit', 50, 1, MAX_PAGE);
    const cursor = one(q, 'cursor');
    let before: { timestampMs: number; eventId: string } | undefined;
    if (cursor) {
      const m = /^(\d+):([0-9a-f]{32})$/.exec(cursor);
      if (!m) throw badData('"cursor" must be the value of "next" from the previous page');
      before = { timestampMs: Number(m[1]), eventId: m[2]! };
    }
    if ((await deps.store.issue(id)) === null) throw notFound(`issue ${id} does not exist`);
    const page = await deps.store.issueEvents(id, limit, before);
    return success({ events: page.events.map((e) => eventJson(e.event)), next: page.next ? `${page.next.timestampMs}:${page.next.eventId}` : null });
  });

  app.put('/api/v1/issues/:id', { config: { scope: 'admin' } }, async (req) => {
    const id = issueId(req);
    const issue = await deps.store.setStatus(id, statusChange(req.body, now()), now());
    if (issue === null) throw notFound(`issue ${id} does not exist`);
    return success(issueJson(issue));
  });

  app.delete('/api/v1/issues/:id', { config: { scope: 'admin' } }, async (req) => {
    const id = issueId(req);
    if (!(await deps.store.deleteIssue(id))) throw notFound(`issue ${id} does not exist`);
    return success({ deleted: String(id) });
  });

  app.get('/api/v1/releases', { config: { scope: 'read' } }, async (req) => {
    const releases = await deps.store.listReleases(projectParam(deps, req.query as Record<string, unknown>));
    return success(releases.map(releaseJson));
  });

  app.get('/api/v1/projects', { config: { scope: 'read' } }, async () => {
    const base = deps.externalUrl();
    return success(
      deps
        .projects()
        .list()
        .map((p) => ({ id: p.id, name: p.name, rate_limit_per_minute: p.rateLimitPerMinute, dsns: [...p.keys].map((k) => formatDsn(base, k, p.id)) })),
    );
  });
}
