/**
 * The in-memory view of every issue: identity, status and running totals. Issues number in the
 * hundreds to tens of thousands, so grouping an event is a map lookup and listing issues a scan of
 * this cache, not a query. The cache is rebuilt from the tables on open and after retention.
 */
import type { ErrorLevel } from '../../../model/error-event.js';
import { compareReleaseVersions, parseReleaseVersion, type Issue, type IssueStatus, type IssueStatusState } from '../../../model/error-issue.js';

/** One issue's mutable state. Fields are all assigned in the constructor (one hidden class). */
export class IssueRecord implements Issue {
  status: IssueStatus = 'unresolved';
  resolvedRelease = '';
  ignoreUntilCount = 0;
  ignoreUntilMs = 0;
  statusBaseCount = 0;
  regressed = false;
  changedMs = 0;
  lastSeenMs: number;
  lastRelease: string;
  count = 0;
  /** Events per release and per environment (keys may be ''). */
  readonly releases = new Map<string, number>();
  readonly environments = new Map<string, number>();

  constructor(
    readonly id: number,
    readonly projectId: number,
    readonly fingerprint: string,
    readonly title: string,
    readonly culprit: string,
    readonly type: string,
    readonly level: ErrorLevel,
    readonly platform: string,
    readonly firstSeenMs: number,
    readonly firstRelease: string,
  ) {
    this.lastSeenMs = firstSeenMs;
    this.lastRelease = firstRelease;
    this.changedMs = firstSeenMs;
  }

  setStatus(s: IssueStatusState): void {
    this.status = s.status;
    this.resolvedRelease = s.resolvedRelease;
    this.ignoreUntilCount = s.ignoreUntilCount;
    this.ignoreUntilMs = s.ignoreUntilMs;
    this.statusBaseCount = s.statusBaseCount;
    this.regressed = s.regressed;
    this.changedMs = s.changedMs;
  }

  statusState(): IssueStatusState {
    return {
      status: this.status,
      resolvedRelease: this.resolvedRelease,
      ignoreUntilCount: this.ignoreUntilCount,
      ignoreUntilMs: this.ignoreUntilMs,
      statusBaseCount: this.statusBaseCount,
      regressed: this.regressed,
      changedMs: this.changedMs,
    };
  }

  /** Adds `n` events (negative to undo) of one release and environment seen at `timeMs`. */
  addEvents(n: number, release: string, environment: string, timeMs: number): void {
    this.count += n;
    bump(this.releases, release, n);
    bump(this.environments, environment, n);
    if (n > 0 && timeMs >= this.lastSeenMs) {
      this.lastSeenMs = timeMs;
      this.lastRelease = release || this.lastRelease;
    }
  }

  /** An immutable copy for callers outside the store. */
  snapshot(): Issue {
    return {
      id: this.id,
      projectId: this.projectId,
      fingerprint: this.fingerprint,
      title: this.title,
      culprit: this.culprit,
      type: this.type,
      level: this.level,
      platform: this.platform,
      firstSeenMs: this.firstSeenMs,
      lastSeenMs: this.lastSeenMs,
      firstRelease: this.firstRelease,
      lastRelease: this.lastRelease,
      count: this.count,
      ...this.statusState(),
    };
  }
}

function bump(map: Map<string, number>, key: string, n: number): void {
  const next = (map.get(key) ?? 0) + n;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

export class IssueCache {
  private readonly byKey = new Map<string, IssueRecord>();
  readonly byId = new Map<number, IssueRecord>();
  /** First appearance of each release per project: `${projectId}\0${release}` → ms. */
  private readonly releaseFirstSeen = new Map<string, number>();
  nextId = 1;

  static key(projectId: number, fingerprint: string): string {
    return `${projectId}\0${fingerprint}`;
  }

  find(projectId: number, fingerprint: string): IssueRecord | undefined {
    return this.byKey.get(IssueCache.key(projectId, fingerprint));
  }

  add(rec: IssueRecord): void {
    this.byKey.set(IssueCache.key(rec.projectId, rec.fingerprint), rec);
    this.byId.set(rec.id, rec);
    if (rec.id >= this.nextId) this.nextId = rec.id + 1;
  }

  remove(rec: IssueRecord): void {
    this.byKey.delete(IssueCache.key(rec.projectId, rec.fingerprint));
    this.byId.delete(rec.id);
  }

  clear(): void {
    this.byKey.clear();
    this.byId.clear();
    this.releaseFirstSeen.clear();
  }

  noteRelease(projectId: number, release: string, timeMs: number): void {
    if (release === '') return;
    const key = `${projectId}\0${release}`;
    const seen = this.releaseFirstSeen.get(key);
    if (seen === undefined || timeMs < seen) this.releaseFirstSeen.set(key, timeMs);
  }

  /** Whether release `a` is newer than `b`: by semantic version when both parse, else by first appearance. */
  readonly isNewer = (projectId: number, a: string, b: string): boolean => {
    if (a === b) return false;
    const va = parseReleaseVersion(a);
    const vb = parseReleaseVersion(b);
    if (va !== null && vb !== null) return compareReleaseVersions(va, vb) > 0;
    const fa = this.releaseFirstSeen.get(`${projectId}\0${a}`) ?? Number.POSITIVE_INFINITY;
    const fb = this.releaseFirstSeen.get(`${projectId}\0${b}`) ?? Number.POSITIVE_INFINITY;
    return fa > fb;
  };

  /** The newest release a project has sent, or ''. */
  latestRelease(projectId: number): string {
    let best = '';
    const prefix = `${projectId}\0`;
    for (const key of this.releaseFirstSeen.keys()) {
      if (!key.startsWith(prefix)) continue;
      const release = key.slice(prefix.length);
      if (best === '' || this.isNewer(projectId, release, best)) best = release;
    }
    return best;
  }
}
