/**
 * The shop's client of the payment service: one HTTP call per charge with a timeout, through the
 * circuit breaker, counting every attempt in `payments_total{outcome}`. The caller's request id
 * travels along in X-Request-ID, and the trace context in `traceparent` (the SDK's fetch
 * instrumentation adds it), so both services' logs and spans line up.
 */
import { requestStore } from '@watchkeeper/node';
import { CircuitOpenError } from './circuit-breaker.mjs';

/** The card was declined: an answer from the provider, not an outage (HTTP 402). */
export class PaymentDeclinedError extends Error {
  constructor(reason) {
    super(`payment declined: ${reason}`);
    this.name = 'PaymentDeclinedError';
    this.statusCode = 402;
  }
}

/** The provider did not answer in time or failed: the payment may be retried later. */
export class PaymentUnavailableError extends Error {
  constructor(message, outcome) {
    super(message);
    this.name = 'PaymentUnavailableError';
    this.outcome = outcome;
  }
}

export class PaymentClient {
  /**
   * @param {{ baseUrl: string, timeoutMs: number, breaker: import('./circuit-breaker.mjs').CircuitBreaker,
   *   payments: import('prom-client').Counter<'outcome'> }} opts
   */
  constructor(opts) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs;
    this.breaker = opts.breaker;
    this.payments = opts.payments;
  }

  /** Charges `amount`; resolves with the charge, throws PaymentDeclinedError or PaymentUnavailableError. */
  async charge({ orderId, amount, card }) {
    try {
      const charge = await this.breaker.call(
        () => this.post({ orderId, amount, currency: 'EUR', card }),
        (err) => !(err instanceof PaymentDeclinedError),
      );
      this.payments.inc({ outcome: 'success' });
      return charge;
    } catch (err) {
      const outcome = err instanceof PaymentDeclinedError ? 'declined' : err instanceof CircuitOpenError ? 'rejected' : (err.outcome ?? 'error');
      this.payments.inc({ outcome });
      if (err instanceof PaymentDeclinedError || err instanceof PaymentUnavailableError) throw err;
      throw new PaymentUnavailableError(err.message, outcome);
    }
  }

  async post(body) {
    const requestId = requestStore.getStore()?.requestId;
    let res;
    try {
      res = await fetch(`${this.baseUrl}/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if (err.name === 'TimeoutError') throw new PaymentUnavailableError(`payment provider did not answer within ${this.timeoutMs} ms`, 'timeout');
      throw new PaymentUnavailableError(`payment provider unreachable: ${err.cause?.message ?? err.message}`, 'error');
    }
    const answer = await res.json().catch(() => ({}));
    if (res.status === 402) throw new PaymentDeclinedError(answer.reason ?? 'card declined');
    if (!res.ok) throw new PaymentUnavailableError(`payment provider answered ${res.status}`, 'error');
    return answer;
  }
}
