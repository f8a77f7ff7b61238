/**
 * The ErrorStore on the embedded DuckDB signal store. Grouping and the issue lifecycle run on the
 * in-memory issue cache, synchronously, so two concurrent requests never create the same issue
 * twice; the events, new issues and status changes of one write are then committed as one unit
 * through the shared group-commit queue. If that commit fails, the cache changes are undone.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { statusAfterEvent, type Issue, type IssueStatusState } from '../../../model/error-issue.js';
import type {
  ErrorStore,
  ErrorWrite,
  EventOutcome,
  EventPage,
  IssueDetail,
  IssuePage,
  IssueQuery,
  IssueSummary,
  ReleaseSummary,
  StatusChange,
  StoredErrorEvent,
  ValueCount,
} from '../../error-store.js';
import type { SignalStore } from '../signal-store.js';
import { hashColumnValue } from '../string-hash.js';
import type { ColumnBatch, TableSchema } from '../table-schema.js';
import { IssueCache, IssueRecord } from './errors-issue-cache.js';
import { decodePayload } from './errors-payload.js';
import { ERROR_EVENTS_TABLE, ERROR_ISSUES_TABLE, ERROR_ISSUE_STATUS_TABLE, ERROR_SESSIONS_TABLE, ERROR_TABLES } from './errors-tables.js';

const NS_PER_MS = 1_000_000n;
const HOUR_MS = 3_600_000;
/** Events whose tags are tallied for an issue's tag distributions (the most recent ones). */
const TAG_SAMPLE = 5000;
const TOP_VALUES = 10;

const toNs = (ms: number): bigint => BigInt(Math.round(ms)) * NS_PER_MS;
const toMs = (ns: DuckDBValue): number => Number((ns as bigint) / NS_PER_MS);

/** What one write changed in the cache, so a failed commit can take it back. */
interface Undo {
  readonly created: IssueRecord[];
  readonly counted: { rec: IssueRecord; release: string; environment: string }[];
  readonly statuses: { rec: IssueRecord; before: IssueStatusState; after: IssueStatusState }[];
}

/** Column arrays for one table, filled row by row. */
class Columns {
  readonly cols: unknown[][];
  rows = 0;
  constructor(readonly table: TableSchema) {
    this.cols = table.columns.map(() => []);
  }
  push(values: readonly unknown[]): void {
    for (let i = 0; i < values.length; i++) this.cols[i]!.push(values[i]);
    this.rows++;
  }
  batch(): ColumnBatch {
    return { table: this.table, rowCount: this.rows, columns: this.cols };
  }
}

export class DuckDBErrorStore implements ErrorStore {
  private readonly cache = new IssueCache();
  private nextStatusSeq = 1n;

  private constructor(private readonly signals: SignalStore) {}

  /**
   * Creates (or migrates) the error tables on `signals` and loads the issues. Retention
   * (`retentionMs`, 0 keeps forever) runs in the signal store's retention pass through this
   * store's hook, which keeps the issue cache's totals in step with the rows it deletes.
   */
  static async open(signals: SignalStore, opts: { retentionMs: number; now?: () => number }): Promise<DuckDBErrorStore> {
    const store = new DuckDBErrorStore(signals);
    const now = opts.now ?? Date.now;
    await signals.ensureTables(ERROR_TABLES, 0, opts.retentionMs > 0 ? (conn) => store.expire(conn, now() - opts.retentionMs) : undefined);
    await signals.writes.exclusive((conn) => store.load(conn));
    return store;
  }

  private async load(conn: DuckDBConnection): Promise<void> {
    this.cache.clear();
    const issues = await conn.runAndReadAll(
      `SELECT i.issue_id, i.project_id, i.fingerprint, i.title, i.culprit, i.type, i.level, i.platform, i.first_seen_ns, i.first_release,
              s.status, s.resolved_release, s.ignore_until_count, s.ignore_until_ns, s.status_base_count, s.regressed, s.changed_ns
       FROM error_issues i LEFT JOIN (
         SELECT * FROM error_issue_status QUALIFY row_number() OVER (PARTITION BY issue_id ORDER BY seq DESC) = 1
       ) s USING (issue_id)`,
    );
    for (const r of issues.getRows()) {
      const rec = new IssueRecord(Number(r[0]), Number(r[1]), r[2] as string, r[3] as string, r[4] as string, r[5] as string, r[6] as IssueRecord['level'], r[7] as string, toMs(r[8]!), r[9] as string);
      if (r[10] !== null) {
        rec.setStatus({
          status: r[10] as IssueRecord['status'],
          resolvedRelease: r[11] as string,
          ignoreUntilCount: Number(r[12]),
          ignoreUntilMs: toMs(r[13]!),
          statusBaseCount: Number(r[14]),
          regressed: r[15] as boolean,
          changedMs: toMs(r[16]!),
        });
      }
      this.cache.add(rec);
    }
    const maxIds = await conn.runAndReadAll('SELECT (SELECT max(issue_id) FROM error_issues), (SELECT max(seq) FROM error_issue_status)');
    const [maxIssue, maxSeq] = maxIds.getRows()[0] ?? [];
    if (typeof maxIssue === 'bigint') this.cache.nextId = Math.max(this.cache.nextId, Number(maxIssue) + 1);
    if (typeof maxSeq === 'bigint') this.nextStatusSeq = maxSeq + 1n;
    const totals = await conn.runAndReadAll(
      'SELECT issue_id, release, environment, count(*), max(time_ns) FROM error_events GROUP BY ALL ORDER BY 5',
    );
    for (const [id, release, environment, n, lastNs] of totals.getRows()) {
      this.cache.byId.get(Number(id))?.addEvents(Number(n), release as string, environment as string, toMs(lastNs!));
    }
    const releases = await conn.runAndReadAll(
      `SELECT project_id, release, min(t) FROM (
         SELECT project_id, release, time_ns AS t FROM error_events UNION ALL SELECT project_id, release, time_ns FROM error_sessions
       ) GROUP BY ALL`,
    );
    for (const [project, release, firstNs] of releases.getRows()) this.cache.noteRelease(Number(project), release as string, toMs(firstNs!));
  }

  /**
   * Deletes events and session counts older than `cutoffMs`, takes them off the cached totals, and
   * drops issues left without events. Runs on the write connection between commits; events of
   * writes still queued are already counted in the cache, so a zero count means no event at all.
   */
  private async expire(conn: DuckDBConnection, cutoffMs: number): Promise<void> {
    const cutoff = toNs(cutoffMs);
    const expired = await conn.runAndReadAll('SELECT issue_id, release, environment, count(*) FROM error_events WHERE time_ns < $1 GROUP BY ALL', [cutoff]);
    await conn.run('DELETE FROM error_events WHERE time_ns < $1', [cutoff]);
    await conn.run('DELETE FROM error_sessions WHERE time_ns < $1', [cutoff]);
    const emptied: number[] = [];
    for (const [id, release, environment, n] of expired.getRows()) {
      const rec = this.cache.byId.get(Number(id));
      if (rec === undefined) continue;
      rec.addEvents(-Number(n), release as string, environment as string, 0);
      if (rec.count <= 0) emptied.push(rec.id);
    }
    if (emptied.length === 0) return;
    const list = emptied.join(',');
    await conn.run(`DELETE FROM error_issue_status WHERE issue_id IN (${list})`);
    await conn.run(`DELETE FROM error_issues WHERE issue_id IN (${list})`);
    for (const id of emptied) {
      const rec = this.cache.byId.get(id);
      if (rec) this.cache.remove(rec);
    }
  }

  async write(batch: ErrorWrite): Promise<readonly EventOutcome[]> {
    const events = new Columns(ERROR_EVENTS_TABLE);
    const issues = new Columns(ERROR_ISSUES_TABLE);
    const statuses = new Columns(ERROR_ISSUE_STATUS_TABLE);
    const sessions = new Columns(ERROR_SESSIONS_TABLE);
    const undo: Undo = { created: [], counted: [], statuses: [] };
    const outcomes: { eventId: string; rec: IssueRecord; kind: EventOutcome['kind'] }[] = [];
    for (const s of batch.sessions) {
      this.cache.noteRelease(s.projectId, s.release, s.timestampMs);
      sessions.push([s.projectId, toNs(s.timestampMs), s.release, s.environment, BigInt(s.started), BigInt(s.exited), BigInt(s.errored), BigInt(s.abnormal), BigInt(s.crashed)]);
    }
    for (let i = 0; i < batch.events.length; i++) {
      const g = batch.events[i]!;
      const e = g.header;
      this.cache.noteRelease(e.projectId, e.release, e.timestampMs);
      let rec = this.cache.find(e.projectId, g.fingerprint);
      let kind: EventOutcome['kind'] = 'existing';
      if (rec === undefined) {
        rec = new IssueRecord(this.cache.nextId, e.projectId, g.fingerprint, g.title, g.culprit, g.type, e.level, e.platform, e.timestampMs, e.release);
        this.cache.add(rec);
        undo.created.push(rec);
        issues.push([BigInt(rec.id), rec.projectId, rec.fingerprint, rec.title, rec.culprit, rec.type, rec.level, rec.platform, toNs(rec.firstSeenMs), rec.firstRelease]);
        kind = 'new';
      }
      rec.addEvents(1, e.release, e.environment, e.timestampMs);
      undo.counted.push({ rec, release: e.release, environment: e.environment });
      const { state, transition } = statusAfterEvent(rec, e.release, e.receivedMs, rec.count, this.cache.isNewer);
      if (transition !== 'none') {
        undo.statuses.push({ rec, before: rec.statusState(), after: state });
        rec.setStatus(state);
        statuses.push(this.statusRow(rec.id, state));
        if (transition === 'regression') kind = 'regression';
      }
      events.push([
        e.eventId,
        e.projectId,
        BigInt(rec.id),
        toNs(e.timestampMs),
        toNs(e.receivedMs),
        e.level,
        e.release,
        e.environment,
        e.userKey,
        e.traceId,
        e.spanId,
        hashColumnValue(e.traceId),
        e.tagsJson,
        g.payload,
      ]);
      outcomes.push({ eventId: e.eventId, rec, kind });
    }
    try {
      await this.signals.write({ batches: [issues.batch(), statuses.batch(), events.batch(), sessions.batch()] });
    } catch (err) {
      this.revert(undo);
      throw err;
    }
    return outcomes.map((o) => ({ eventId: o.eventId, kind: o.kind, issue: o.rec.snapshot() }));
  }

  private revert(undo: Undo): void {
    for (const c of undo.counted) c.rec.addEvents(-1, c.release, c.environment, 0);
    for (let i = undo.statuses.length - 1; i >= 0; i--) {
      const s = undo.statuses[i]!;
      // Only if no later write changed it again.
      if (s.rec.changedMs === s.after.changedMs && s.rec.status === s.after.status) s.rec.setStatus(s.before);
    }
    for (const rec of undo.created) if (rec.count <= 0) this.cache.remove(rec);
  }

  private statusRow(issueId: number, s: IssueStatusState): unknown[] {
    const seq = this.nextStatusSeq++;
    return [BigInt(issueId), seq, toNs(s.changedMs), s.status, s.resolvedRelease, BigInt(s.ignoreUntilCount), toNs(s.ignoreUntilMs), BigInt(s.statusBaseCount), s.regressed];
  }

  async setStatus(id: number, change: StatusChange, nowMs: number): Promise<Issue | null> {
    const rec = this.cache.byId.get(id);
    if (rec === undefined) return null;
    const resolving = change.status === 'resolved' || change.status === 'resolved_in_next_release';
    const state: IssueStatusState = {
      status: change.status,
      resolvedRelease: resolving ? this.cache.latestRelease(rec.projectId) || rec.lastRelease : '',
      ignoreUntilCount: change.status === 'ignored' ? (change.ignoreUntilCount ?? 0) : 0,
      ignoreUntilMs: change.status === 'ignored' ? (change.ignoreUntilMs ?? 0) : 0,
      statusBaseCount: rec.count,
      regressed: false,
      changedMs: nowMs,
    };
    const statuses = new Columns(ERROR_ISSUE_STATUS_TABLE);
    statuses.push(this.statusRow(id, state));
    await this.signals.write({ batches: [statuses.batch()] });
    rec.setStatus(state);
    return rec.snapshot();
  }

  async deleteIssue(id: number): Promise<boolean> {
    const rec = this.cache.byId.get(id);
    if (rec === undefined) return false;
    await this.signals.writes.exclusive(async (conn) => {
      await conn.run('BEGIN TRANSACTION');
      try {
        for (const table of ['error_events', 'error_issue_status', 'error_issues']) await conn.run(`DELETE FROM ${table} WHERE issue_id = $1`, [BigInt(id)]);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    this.cache.remove(rec);
    return true;
  }

  async issue(id: number): Promise<Issue | null> {
    return this.cache.byId.get(id)?.snapshot() ?? null;
  }

  async listIssues(q: IssueQuery): Promise<IssuePage> {
    const text = q.text?.toLowerCase();
    const matches: IssueRecord[] = [];
    for (const rec of this.cache.byId.values()) {
      if (q.projectId !== undefined && rec.projectId !== q.projectId) continue;
      if (q.status !== undefined && rec.status !== q.status) continue;
      if (q.level !== undefined && rec.level !== q.level) continue;
      if (q.release !== undefined && !rec.releases.has(q.release)) continue;
      if (q.environment !== undefined && !rec.environments.has(q.environment)) continue;
      if (text && !`${rec.title}\n${rec.culprit}\n${rec.type}`.toLowerCase().includes(text)) continue;
      matches.push(rec);
    }
    const key: (r: IssueRecord) => number = q.sort === 'count' ? (r) => r.count : q.sort === 'first_seen' ? (r) => r.firstSeenMs : (r) => r.lastSeenMs;
    matches.sort((a, b) => key(b) - key(a) || b.id - a.id);
    return { total: matches.length, issues: await this.summaries(matches.slice(q.offset, q.offset + q.limit)) };
  }

  private async userCounts(ids: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (ids.length === 0) return out;
    const rows = await this.signals.reads.use((conn) =>
      conn.runAndReadAll(`SELECT issue_id, count(DISTINCT user_key) FROM error_events WHERE issue_id IN (${ids.join(',')}) AND user_key <> '' GROUP BY 1`),
    );
    for (const [id, n] of rows.getRows()) out.set(Number(id), Number(n));
    return out;
  }

  async issueDetail(id: number, nowMs: number, hours: number): Promise<IssueDetail | null> {
    const rec = this.cache.byId.get(id);
    if (rec === undefined) return null;
    const hourlyStartMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS;
    const { hourly, tagRows, latest } = await this.signals.reads.use(async (conn) => {
      const issueId = BigInt(id);
      const hourlyRows = await conn.runAndReadAll(
        'SELECT (time_ns - $2) // $3 AS h, count(*) FROM error_events WHERE issue_id = $1 AND time_ns >= $2 GROUP BY 1',
        [issueId, toNs(hourlyStartMs), toNs(HOUR_MS)],
      );
      const tags = await conn.runAndReadAll(`SELECT tags FROM error_events WHERE issue_id = $1 ORDER BY time_ns DESC LIMIT ${TAG_SAMPLE}`, [issueId]);
      const last = await conn.runAndReadAll('SELECT payload FROM error_events WHERE issue_id = $1 ORDER BY time_ns DESC, event_id DESC LIMIT 1', [issueId]);
      return { hourly: hourlyRows.getRows(), tagRows: tags.getRows(), latest: last.getRows()[0]?.[0] as string | undefined };
    });
    const buckets = new Array<number>(hours).fill(0);
    for (const [h, n] of hourly) {
      const i = Number(h);
      if (i >= 0 && i < hours) buckets[i] = Number(n);
    }
    const tagCounts = new Map<string, Map<string, number>>();
    for (const [json] of tagRows) {
      for (const [k, v] of Object.entries(JSON.parse(json as string) as Record<string, string>)) {
        let m = tagCounts.get(k);
        if (!m) tagCounts.set(k, (m = new Map()));
        m.set(v, (m.get(v) ?? 0) + 1);
      }
    }
    const tags: Record<string, ValueCount[]> = {};
    for (const [k, m] of tagCounts) tags[k] = topValues(m);
    const [summary] = (await this.summaries([rec])) as [IssueSummary];
    return {
      issue: summary,
      releases: topValues(rec.releases, Number.POSITIVE_INFINITY),
      environments: topValues(rec.environments, Number.POSITIVE_INFINITY),
      tags,
      hourlyStartMs,
      hourly: buckets,
      latestEvent: latest === undefined ? null : { issueId: id, event: decodePayload(latest) },
    };
  }

  private async summaries(recs: readonly IssueRecord[]): Promise<IssueSummary[]> {
    const users = await this.userCounts(recs.map((r) => r.id));
    return recs.map((r) => ({ ...r.snapshot(), userCount: users.get(r.id) ?? 0 }));
  }

  async issueEvents(id: number, limit: number, before?: { timestampMs: number; eventId: string }): Promise<EventPage> {
    const params: DuckDBValue[] = [BigInt(id)];
    let cond = '';
    if (before) {
      params.push(toNs(before.timestampMs), before.eventId);
      cond = 'AND (time_ns < $2 OR (time_ns = $2 AND event_id < $3))';
    }
    const rows = await this.signals.reads.use((conn) =>
      conn.runAndReadAll(`SELECT payload FROM error_events WHERE issue_id = $1 ${cond} ORDER BY time_ns DESC, event_id DESC LIMIT ${limit + 1}`, params),
    );
    const all = rows.getRows().map(([p]): StoredErrorEvent => ({ issueId: id, event: decodePayload(p as string) }));
    const events = all.slice(0, limit);
    const last = events[events.length - 1];
    return { events, next: all.length > limit && last ? { timestampMs: last.event.timestampMs, eventId: last.event.eventId } : null };
  }

  async listReleases(projectId?: number): Promise<readonly ReleaseSummary[]> {
    const where = projectId === undefined ? '' : `WHERE project_id = ${projectId}`;
    const [eventRows, sessionRows] = await this.signals.reads.use(async (conn) => [
      (await conn.runAndReadAll(`SELECT project_id, release, min(time_ns), max(time_ns), count(*) FROM error_events ${where} GROUP BY ALL`)).getRows(),
      (
        await conn.runAndReadAll(
          `SELECT project_id, release, min(time_ns), max(time_ns), sum(started), sum(exited), sum(errored), sum(abnormal), sum(crashed) FROM error_sessions ${where} GROUP BY ALL`,
        )
      ).getRows(),
    ]);
    const byKey = new Map<string, { -readonly [K in keyof ReleaseSummary]: ReleaseSummary[K] }>();
    const entry = (project: number, release: string) => {
      const key = `${project}\0${release}`;
      let r = byKey.get(key);
      if (!r) {
        r = {
          projectId: project,
          release,
          firstSeenMs: Number.POSITIVE_INFINITY,
          lastSeenMs: 0,
          eventCount: 0,
          newIssues: 0,
          sessions: { started: 0, exited: 0, errored: 0, abnormal: 0, crashed: 0 },
          crashFreeRate: null,
        };
        byKey.set(key, r);
      }
      return r;
    };
    for (const [p, rel, first, last, n] of eventRows) {
      const r = entry(Number(p), rel as string);
      r.firstSeenMs = Math.min(r.firstSeenMs, toMs(first!));
      r.lastSeenMs = Math.max(r.lastSeenMs, toMs(last!));
      r.eventCount = Number(n);
    }
    for (const [p, rel, first, last, started, exited, errored, abnormal, crashed] of sessionRows) {
      const r = entry(Number(p), rel as string);
      r.firstSeenMs = Math.min(r.firstSeenMs, toMs(first!));
      r.lastSeenMs = Math.max(r.lastSeenMs, toMs(last!));
      r.sessions = { started: Number(started), exited: Number(exited), errored: Number(errored), abnormal: Number(abnormal), crashed: Number(crashed) };
      r.crashFreeRate = r.sessions.started > 0 ? Math.max(0, 1 - r.sessions.crashed / r.sessions.started) : null;
    }
    for (const rec of this.cache.byId.values()) {
      const r = byKey.get(`${rec.projectId}\0${rec.firstRelease}`);
      if (r) r.newIssues++;
    }
    return [...byKey.values()].filter((r) => r.release !== '').sort((a, b) => b.firstSeenMs - a.firstSeenMs);
  }

  async deleteBefore(cutoffMs: number): Promise<void> {
    await this.signals.writes.exclusive((conn) => this.expire(conn, cutoffMs));
  }
}

function topValues(m: ReadonlyMap<string, number>, max = TOP_VALUES): ValueCount[] {
  return [...m.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1))
    .slice(0, max);
}
