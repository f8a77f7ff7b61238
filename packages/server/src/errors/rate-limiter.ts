/**
 * Per-project event rate limits: a token bucket per project holding up to one minute's allowance
 * (`rate_limit_per_minute`), refilled continuously. A request whose events do not fit is refused
 * as a whole and told when one event's worth of tokens will be back.
 */

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class ProjectRateLimiter {
  private readonly buckets = new Map<number, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes `n` events from project `projectId`'s allowance of `perMinute` (0: unlimited). */
  take(projectId: number, n: number, perMinute: number): RateDecision {
    if (perMinute <= 0 || n <= 0) return { ok: true };
    const nowMs = this.now();
    let b = this.buckets.get(projectId);
    if (b === undefined) {
      b = { tokens: perMinute, updatedMs: nowMs };
      this.buckets.set(projectId, b);
    }
    const perMs = perMinute / 60_000;
    b.tokens = Math.min(perMinute, b.tokens + Math.max(0, nowMs - b.updatedMs) * perMs);
    b.updatedMs = nowMs;
    if (b.tokens >= n) {
      b.tokens -= n;
      return { ok: true };
    }
    const need = Math.min(n, perMinute) - b.tokens;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(need / perMs / 1000)) };
  }
}
