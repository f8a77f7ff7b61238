/**
 * Per-request tally of samples that were not stored, by reason, with the first explanation.
 * Push receivers keep the valid part of a request and report this tally to the client.
 */
export class Rejections {
  /** Rejected samples (or data points) by reason code. */
  readonly byReason = new Map<string, number>();
  total = 0;
  /** The first rejection's message, which the client sees. */
  firstMessage: string | null = null;

  add(reason: string, count: number, message: string): void {
    if (count <= 0) return;
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + count);
    this.total += count;
    if (this.firstMessage === null) this.firstMessage = message;
  }

  /** A one-line summary such as `3 rejected (out_of_order: 2, invalid_labels: 1); first: ...`. */
  summary(noun: string): string {
    const parts = [...this.byReason].map(([reason, n]) => `${reason}: ${n}`).join(', ');
    return `${this.total} ${noun} rejected (${parts}); first error: ${this.firstMessage ?? ''}`;
  }
}
