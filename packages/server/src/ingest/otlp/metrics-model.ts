/**
 * A decoded OTLP ExportMetricsServiceRequest, produced by both the protobuf and the JSON decoder
 * and consumed by the Prometheus translator. Times are Unix milliseconds (converted exactly from
 * nanoseconds); exemplars are only counted, since they are dropped.
 */
import type { InstrumentationScope, KeyValue } from './otlp-common.js';

export const TEMPORALITY_UNSPECIFIED = 0;
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

/** DataPointFlags.FLAG_NO_RECORDED_VALUE_MASK. */
export const FLAG_NO_RECORDED_VALUE = 1;

export type MetricKind = 'none' | 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';

export interface NumberPoint {
  attributes: KeyValue[];
  startMs: number;
  timeMs: number;
  value: number;
  flags: number;
  exemplars: number;
}

export interface HistogramPoint {
  attributes: KeyValue[];
  startMs: number;
  timeMs: number;
  count: number;
  /** NaN when the sum is absent. */
  sum: number;
  hasSum: boolean;
  /** Per-bucket (not cumulative) counts; bounds.length + 1 entries, or none. */
  bucketCounts: number[];
  bounds: number[];
  flags: number;
  exemplars: number;
}

export interface SummaryPoint {
  attributes: KeyValue[];
  startMs: number;
  timeMs: number;
  count: number;
  sum: number;
  /** Pairs of (quantile, value). */
  quantiles: number[];
  flags: number;
}

export interface OtlpMetric {
  name: string;
  description: string;
  unit: string;
  kind: MetricKind;
  temporality: number;
  monotonic: boolean;
  numberPoints: NumberPoint[];
  histogramPoints: HistogramPoint[];
  summaryPoints: SummaryPoint[];
  /** Exponential histogram data points are not translated yet; only their number is kept. */
  exponentialPoints: number;
  exemplars: number;
}

export interface ScopeMetrics {
  scope: InstrumentationScope;
  metrics: OtlpMetric[];
}

export interface ResourceMetrics {
  resource: KeyValue[];
  scopeMetrics: ScopeMetrics[];
}

export interface MetricsRequest {
  resourceMetrics: ResourceMetrics[];
}

export function newMetric(): OtlpMetric {
  return {
    name: '',
    description: '',
    unit: '',
    kind: 'none',
    temporality: TEMPORALITY_UNSPECIFIED,
    monotonic: false,
    numberPoints: [],
    histogramPoints: [],
    summaryPoints: [],
    exponentialPoints: 0,
    exemplars: 0,
  };
}
