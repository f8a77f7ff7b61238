/** Sample values with special meaning. */

/**
 * Prometheus's staleness marker: a NaN with a specific bit pattern (0x7ff0000000000002).
 * Ordinary NaN (0x7ff8000000000001 in Prometheus, any other NaN here) is a normal value.
 */
export const STALE_NAN_BITS_HI = 0x7ff00000;
export const STALE_NAN_BITS_LO = 0x00000002;

const scratch = new DataView(new ArrayBuffer(8));

export const STALE_NAN: number = (() => {
  scratch.setUint32(0, STALE_NAN_BITS_HI);
  scratch.setUint32(4, STALE_NAN_BITS_LO);
  return scratch.getFloat64(0);
})();

/** True only for the staleness-marker NaN, not for other NaNs. */
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  scratch.setFloat64(0, v);
  return scratch.getUint32(0) === STALE_NAN_BITS_HI && scratch.getUint32(4) === STALE_NAN_BITS_LO;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';

/** HELP/TYPE/UNIT metadata of a metric family. */
export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}
