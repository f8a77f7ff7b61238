/**
 * Bounds the memory that push requests being decoded may hold at once. A request that would
 * exceed the budget is refused with 429 (the client retries later) instead of growing memory.
 */
export class InFlightBudget {
  private used = 0;

  constructor(
    /** Bytes of bodies (compressed plus decompressed) that may be in flight together. */
    readonly limitBytes: number,
  ) {}

  /** Reserves `bytes`; false when the budget is exhausted. A lone request always fits. */
  tryAcquire(bytes: number): boolean {
    if (this.used > 0 && this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}
