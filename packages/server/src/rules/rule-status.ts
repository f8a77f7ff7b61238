/** The health a rule reports in /api/v1/rules: Prometheus's "unknown" until evaluated, then "ok" or "err". */
export type RuleHealth = 'unknown' | 'ok' | 'err';

/** A rule's outcome of its last evaluation. */
export class RuleStatus {
  health: RuleHealth = 'unknown';
  lastError = '';
  /** Unix ms of the last evaluation (0: never). */
  lastEvaluationMs = 0;
  /** Seconds the last evaluation took. */
  evaluationSeconds = 0;

  record(evaluatedAt: number, seconds: number, error: string | null): void {
    this.lastEvaluationMs = evaluatedAt;
    this.evaluationSeconds = seconds;
    this.health = error === null ? 'ok' : 'err';
    this.lastError = error ?? '';
  }
}
