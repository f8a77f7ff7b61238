/**
 * Time for the dispatcher: the current time and timers, injected so tests can drive grouping,
 * repeat intervals and time intervals with a controllable clock instead of real waiting.
 */

/** An opaque timer handle. */
export type TimerHandle = { readonly timer: unknown };

export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock; timers are unref'd so they never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return { timer };
  },
  clearTimeout(handle) {
    clearTimeout(handle.timer as NodeJS.Timeout);
  },
};

