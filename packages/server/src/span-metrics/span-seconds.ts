import { type Span, spanDurationNs } from '../model/span.js';

/** A span's duration in seconds, exact to the nanosecond; negative durations (clock skew) count as zero, as Tempo does. */
export function spanSeconds(s: Pick<Span, 'startNs' | 'endNs'>): number {
  return Number(spanDurationNs(s)) / 1e9;
}
