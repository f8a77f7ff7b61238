/**
 * Issues: error events grouped by fingerprint, with a status lifecycle. The lifecycle rules live
 * here, beside the types, so every error-store backend applies the same ones.
 */
import type { ErrorLevel } from './error-event.js';

export type IssueStatus = 'unresolved' | 'resolved' | 'resolved_in_next_release' | 'ignored';

/** The status part of an issue: what a status change writes and what ingestion may change. */
export interface IssueStatusState {
  readonly status: IssueStatus;
  /** For resolved statuses: the release that was current when resolved ('' when unknown). */
  readonly resolvedRelease: string;
  /** For ignored: reopen once the issue has this many more events (0: no count limit). */
  readonly ignoreUntilCount: number;
  /** For ignored: reopen after this time, ms since the epoch (0: no time limit). */
  readonly ignoreUntilMs: number;
  /** The issue's event count when the status was set (ignore counts from there). */
  readonly statusBaseCount: number;
  /** True once a resolved issue has been seen again; stays until the next status change. */
  readonly regressed: boolean;
  readonly changedMs: number;
}

/** An issue's identity and running totals. */
export interface Issue extends IssueStatusState {
  readonly id: number;
  readonly projectId: number;
  /** 32 hex digits: the hash of the grouping components. */
  readonly fingerprint: string;
  readonly title: string;
  readonly culprit: string;
  readonly type: string;
  readonly level: ErrorLevel;
  readonly platform: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly firstRelease: string;
  readonly lastRelease: string;
  readonly count: number;
}

/** Whether release `a` is newer than `b`: by semantic version when both have one, else by first appearance. */
export type ReleaseOrder = (projectId: number, a: string, b: string) => boolean;

export type IssueTransition = 'none' | 'regression' | 'unignored';

/**
 * The status an issue takes when a new event (of `release`, at `nowMs`, making `count` events)
 * arrives. A resolved issue reopens as a regression unless the event comes from a release older
 * than the one it was resolved in (an old deployment still running); resolved-in-next-release
 * reopens only for a newer release; ignored reopens when its count or time limit has passed.
 */
export function statusAfterEvent(
  issue: Issue,
  release: string,
  nowMs: number,
  count: number,
  isNewer: ReleaseOrder,
): { state: IssueStatusState; transition: IssueTransition } {
  const unchanged = { state: issue, transition: 'none' as const };
  const reopened = (regressed: boolean): IssueStatusState => ({
    status: 'unresolved',
    resolvedRelease: '',
    ignoreUntilCount: 0,
    ignoreUntilMs: 0,
    statusBaseCount: count,
    regressed,
    changedMs: nowMs,
  });
  switch (issue.status) {
    case 'unresolved':
      return unchanged;
    case 'resolved':
      if (issue.resolvedRelease !== '' && release !== '' && isNewer(issue.projectId, issue.resolvedRelease, release)) return unchanged;
      return { state: reopened(true), transition: 'regression' };
    case 'resolved_in_next_release':
      if (release === '' || issue.resolvedRelease === '' || !isNewer(issue.projectId, release, issue.resolvedRelease)) return unchanged;
      return { state: reopened(true), transition: 'regression' };
    case 'ignored': {
      const countPassed = issue.ignoreUntilCount > 0 && count - issue.statusBaseCount > issue.ignoreUntilCount;
      const timePassed = issue.ignoreUntilMs > 0 && nowMs >= issue.ignoreUntilMs;
      if (!countPassed && !timePassed) return unchanged;
      return { state: reopened(false), transition: 'unignored' };
    }
  }
}

const SEMVER_RE = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** The version part of a Sentry release name (`shop@1.2.3` → `1.2.3`) parsed as semver, or null. */
export function parseReleaseVersion(release: string): readonly [number, number, number, string] | null {
  const at = release.lastIndexOf('@');
  const m = SEMVER_RE.exec(at >= 0 ? release.slice(at + 1) : release);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0), m[4] ?? ''];
}

/** Compares two parsed versions: negative, 0 or positive; a pre-release sorts before its release. */
export function compareReleaseVersions(a: readonly [number, number, number, string], b: readonly [number, number, number, string]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  if (a[3] === b[3]) return 0;
  if (a[3] === '') return 1;
  if (b[3] === '') return -1;
  return a[3] < b[3] ? -1 : 1;
}
