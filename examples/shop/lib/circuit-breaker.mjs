/**
 * A circuit breaker around calls to a remote dependency: closed until `failureThreshold` calls in a
 * row fail, then open (calls fail fast without reaching the dependency) for `coolDownMs`, then
 * half-open: one probe call decides between closed (it succeeded) and open again (it failed).
 */

/** Gauge values of the states, as `payment_circuit_breaker_state` exports them (1 = open). */
export const BreakerState = Object.freeze({ CLOSED: 0, OPEN: 1, HALF_OPEN: 2 });

const STATE_NAMES = ['closed', 'open', 'half-open'];

/** Thrown instead of calling the dependency while the breaker is open. */
export class CircuitOpenError extends Error {
  constructor(name) {
    super(`circuit breaker "${name}" is open: not calling the dependency`);
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  /**
   * @param {{ name: string, failureThreshold?: number, coolDownMs?: number,
   *   onStateChange?: (state: number, stateName: string) => void, now?: () => number }} opts
   */
  constructor(opts) {
    this.name = opts.name;
    this.failureThreshold = opts.failureThreshold ?? 5;
    this.coolDownMs = opts.coolDownMs ?? 5000;
    this.onStateChange = opts.onStateChange ?? (() => {});
    this.now = opts.now ?? Date.now;
    this.state = BreakerState.CLOSED;
    this.consecutiveFailures = 0;
    this.openedAtMs = 0;
    this.probeInFlight = false;
  }

  /** Name of the current state: closed, open or half-open. */
  get stateName() {
    return STATE_NAMES[this.state];
  }

  /**
   * Runs `fn` through the breaker. `isFailure(err)` says whether an error counts against the
   * dependency (a declined card is an answer, not an outage).
   * @template T
   * @param {() => Promise<T>} fn
   * @param {(err: unknown) => boolean} [isFailure]
   * @returns {Promise<T>}
   */
  async call(fn, isFailure = () => true) {
    if (this.state === BreakerState.OPEN) {
      if (this.now() - this.openedAtMs < this.coolDownMs) throw new CircuitOpenError(this.name);
      this.transition(BreakerState.HALF_OPEN);
    }
    const probing = this.state === BreakerState.HALF_OPEN;
    if (probing) {
      // Only one probe at a time: the others fail fast until it has decided.
      if (this.probeInFlight) throw new CircuitOpenError(this.name);
      this.probeInFlight = true;
    }
    try {
      const result = await fn();
      this.consecutiveFailures = 0;
      if (this.state !== BreakerState.CLOSED) this.transition(BreakerState.CLOSED);
      return result;
    } catch (err) {
      if (isFailure(err)) this.recordFailure(probing);
      else if (probing) this.transition(BreakerState.CLOSED);
      throw err;
    } finally {
      if (probing) this.probeInFlight = false;
    }
  }

  recordFailure(probing) {
    this.consecutiveFailures++;
    if (probing || (this.state === BreakerState.CLOSED && this.consecutiveFailures >= this.failureThreshold)) {
      this.openedAtMs = this.now();
      this.transition(BreakerState.OPEN);
    }
  }

  transition(state) {
    this.state = state;
    if (state === BreakerState.CLOSED) this.consecutiveFailures = 0;
    this.onStateChange(state, STATE_NAMES[state]);
  }
}
