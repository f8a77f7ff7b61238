/**
 * Translates decoded OTLP metrics into Prometheus series on an Appender, per the OpenTelemetry
 * specification "Prometheus and OpenMetrics compatibility":
 * - resource `service.namespace`/`service.name` → `job`, `service.instance.id` → `instance`, the
 *   other resource attributes → one `target_info` sample (value 1) per resource;
 * - scope name/version → `otel_scope_name`/`otel_scope_version` labels;
 * - gauges and non-monotonic cumulative sums → gauges; monotonic cumulative sums → `_total` counters;
 * - histograms → cumulative `_bucket{le}`, `_sum`, `_count`; summaries → `{quantile}`, `_sum`, `_count`;
 * - points flagged "no recorded value" → staleness markers; exemplars are dropped and counted.
 * Delta temporality is rejected per metric with a partial-success message (see DELTA_MESSAGE), as
 * are exponential histograms (no native histogram storage yet).
 */
import { type Label, type Labels, METRIC_NAME, setLabel } from '../../model/labels.js';
import { STALE_NAN, type MetricType } from '../../model/samples.js';
import { AppendError, type Appender } from '../../storage/interfaces.js';
import type { Rejections } from '../rejections.js';
import { anyValueToString, formatDouble, type InstrumentationScope, type KeyValue } from './otlp-common.js';
import { FLAG_NO_RECORDED_VALUE, TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA, type MetricsRequest, type OtlpMetric } from './metrics-model.js';
import { prometheusMetricName, prometheusUnit, sanitizeLabelName, type PrometheusKind } from './prometheus-names.js';

/** Why delta temporality is refused rather than accumulated: see the module comment of metrics-routes. */
const DELTA_MESSAGE =
  'delta temporality is not supported; configure the exporter for cumulative temporality (e.g. OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)';

const IDENTIFYING_RESOURCE_ATTRIBUTES = new Set(['service.name', 'service.namespace', 'service.instance.id']);

export interface TranslateResult {
  samplesAppended: number;
  rejectedDataPoints: number;
  exemplarsDropped: number;
}

/**
 * Appends every translatable point of `req`; rejected points are tallied in `rejections`. Points
 * later than `maxTime` (ms) are rejected as out of bounds.
 */
export function translateMetrics(req: MetricsRequest, app: Appender, rejections: Rejections, maxTime = Infinity): TranslateResult {
  const t = new Translation(app, rejections, maxTime);
  for (const rm of req.resourceMetrics) {
    const resourceLabels = identifyingLabels(rm.resource);
    t.maxTime = 0;
    for (const sm of rm.scopeMetrics) {
      const fixed = scopeLabels(sm.scope, resourceLabels);
      for (const m of sm.metrics) t.metric(m, fixed);
    }
    if (t.maxTime > 0) t.targetInfo(rm.resource, resourceLabels);
  }
  return t.result;
}

class Translation {
  readonly result: TranslateResult = { samplesAppended: 0, rejectedDataPoints: 0, exemplarsDropped: 0 };
  /** Latest point time of the current resource, ms: the time of its target_info sample. */
  maxTime = 0;
  /** Set when a sample of the current data point was rejected. */
  private pointFailed = false;

  constructor(
    private readonly app: Appender,
    private readonly rejections: Rejections,
    private readonly timeLimit: number,
  ) {}

  private reject(m: OtlpMetric, points: number, reason: string, detail: string): void {
    this.rejections.add(reason, points, `metric "${m.name}": ${detail}`);
    this.result.rejectedDataPoints += points;
  }

  metric(m: OtlpMetric, fixed: readonly Label[]): void {
    this.result.exemplarsDropped += m.exemplars;
    const points = m.numberPoints.length + m.histogramPoints.length + m.summaryPoints.length + m.exponentialPoints;
    if (points === 0) return;
    if (m.name === '') return this.reject(m, points, 'invalid_metric_name', 'empty metric name');
    if (m.kind === 'exponential_histogram') {
      return this.reject(m, points, 'exponential_histogram_unsupported', 'exponential histograms are not supported yet; use explicit-bucket histograms');
    }
    if (m.kind === 'sum' || m.kind === 'histogram') {
      if (m.temporality === TEMPORALITY_DELTA) return this.reject(m, points, 'delta_temporality', DELTA_MESSAGE);
      if (m.temporality !== TEMPORALITY_CUMULATIVE) return this.reject(m, points, 'invalid_temporality', 'aggregation temporality is unspecified');
    }
    const kind: PrometheusKind = m.kind === 'sum' && m.monotonic ? 'counter' : m.kind === 'sum' || m.kind === 'gauge' ? 'gauge' : m.kind === 'histogram' ? 'histogram' : 'summary';
    const family = prometheusMetricName(m.name, m.unit, kind);
    const type: MetricType = kind;
    this.app.updateMetadata(family, { type, help: m.description, unit: prometheusUnit(m.unit, kind) });

    for (const p of m.numberPoints) {
      if (!this.beginPoint(m, p.timeMs)) continue;
      const base = pointLabels(p.attributes, fixed);
      this.add(m, setLabel(base, METRIC_NAME, family), p.timeMs, p.flags & FLAG_NO_RECORDED_VALUE ? STALE_NAN : p.value);
      this.endPoint();
    }
    for (const p of m.histogramPoints) {
      if (!this.beginPoint(m, p.timeMs)) continue;
      const problem = histogramProblem(p.bounds, p.bucketCounts);
      if (problem !== null) {
        this.reject(m, 1, 'invalid_histogram', problem);
        continue;
      }
      const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
      const base = pointLabels(p.attributes, fixed);
      const bucketName = setLabel(base, METRIC_NAME, `${family}_bucket`);
      let cumulative = 0;
      for (let i = 0; i < p.bounds.length && p.bucketCounts.length > 0; i++) {
        cumulative += p.bucketCounts[i]!;
        this.add(m, setLabel(bucketName, 'le', formatDouble(p.bounds[i]!)), p.timeMs, stale ? STALE_NAN : cumulative);
      }
      this.add(m, setLabel(bucketName, 'le', '+Inf'), p.timeMs, stale ? STALE_NAN : p.count);
      if (p.hasSum) this.add(m, setLabel(base, METRIC_NAME, `${family}_sum`), p.timeMs, stale ? STALE_NAN : p.sum);
      this.add(m, setLabel(base, METRIC_NAME, `${family}_count`), p.timeMs, stale ? STALE_NAN : p.count);
      this.endPoint();
    }
    for (const p of m.summaryPoints) {
      if (!this.beginPoint(m, p.timeMs)) continue;
      const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
      const base = pointLabels(p.attributes, fixed);
      const quantileName = setLabel(base, METRIC_NAME, family);
      for (let i = 0; i < p.quantiles.length; i += 2) {
        this.add(m, setLabel(quantileName, 'quantile', formatDouble(p.quantiles[i]!)), p.timeMs, stale ? STALE_NAN : p.quantiles[i + 1]!);
      }
      this.add(m, setLabel(base, METRIC_NAME, `${family}_sum`), p.timeMs, stale ? STALE_NAN : p.sum);
      this.add(m, setLabel(base, METRIC_NAME, `${family}_count`), p.timeMs, stale ? STALE_NAN : p.count);
      this.endPoint();
    }
  }

  private beginPoint(m: OtlpMetric, timeMs: number): boolean {
    if (timeMs <= 0) {
      this.reject(m, 1, 'invalid_timestamp', 'data point without time_unix_nano');
      return false;
    }
    if (timeMs > this.timeLimit) {
      this.reject(m, 1, 'out_of_bounds', `data point time ${timeMs} is too far in the future`);
      return false;
    }
    if (timeMs > this.maxTime) this.maxTime = timeMs;
    this.pointFailed = false;
    return true;
  }

  private endPoint(): void {
    if (this.pointFailed) this.result.rejectedDataPoints++;
  }

  private add(m: OtlpMetric, labels: Labels, t: number, v: number): void {
    try {
      this.app.append(0, labels, t, v);
      this.result.samplesAppended++;
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      this.rejections.add(err.code, 1, `metric "${m.name}": ${err.message} at timestamp ${t}`);
      this.pointFailed = true;
    }
  }

  /** One `target_info` sample per resource with its non-identifying attributes; repeats at a known time are not errors. */
  targetInfo(resource: KeyValue[], identifying: readonly Label[]): void {
    const others = resource.filter((kv) => !IDENTIFYING_RESOURCE_ATTRIBUTES.has(kv.key));
    if (others.length === 0) return;
    const labels = setLabel(pointLabels(others, identifying), METRIC_NAME, 'target_info');
    try {
      this.app.append(0, labels, this.maxTime, 1);
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
    }
  }
}

function stringAttribute(attrs: KeyValue[], key: string): string {
  const kv = attrs.find((a) => a.key === key);
  return kv ? anyValueToString(kv.value) : '';
}

/** `job` and `instance` from the resource, sorted. */
function identifyingLabels(resource: KeyValue[]): Label[] {
  const out: Label[] = [];
  const instance = stringAttribute(resource, 'service.instance.id');
  if (instance !== '') out.push({ name: 'instance', value: instance });
  const name = stringAttribute(resource, 'service.name');
  const namespace = stringAttribute(resource, 'service.namespace');
  if (name !== '') out.push({ name: 'job', value: namespace !== '' ? `${namespace}/${name}` : name });
  return out;
}

function scopeLabels(scope: InstrumentationScope, identifying: readonly Label[]): Label[] {
  const out = [...identifying];
  if (scope.name !== '') out.push({ name: 'otel_scope_name', value: scope.name });
  if (scope.version !== '') out.push({ name: 'otel_scope_version', value: scope.version });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Labels of a data point: its attributes with sanitized names (values of colliding names joined
 * with `;` in the order of the original keys), overridden by the fixed labels (job, instance,
 * scope). Sorted; empty values dropped.
 */
function pointLabels(attrs: KeyValue[], fixed: readonly Label[]): Label[] {
  const pairs: { name: string; key: string; value: string }[] = [];
  for (const kv of attrs) {
    const value = anyValueToString(kv.value);
    if (value !== '') pairs.push({ name: sanitizeLabelName(kv.key), key: kv.key, value });
  }
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out: Label[] = [];
  let fi = 0;
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    let value = p.value;
    while (i + 1 < pairs.length && pairs[i + 1]!.name === p.name) value += `;${pairs[++i]!.value}`;
    while (fi < fixed.length && fixed[fi]!.name < p.name) out.push(fixed[fi++]!);
    if (fi < fixed.length && fixed[fi]!.name === p.name) continue;
    if (p.name === METRIC_NAME) continue;
    out.push({ name: p.name, value });
  }
  while (fi < fixed.length) out.push(fixed[fi++]!);
  return out;
}

function histogramProblem(bounds: number[], counts: number[]): string | null {
  if (counts.length !== 0 && counts.length !== bounds.length + 1) {
    return `histogram has ${counts.length} bucket counts for ${bounds.length} explicit bounds (expected ${bounds.length + 1})`;
  }
  for (let i = 0; i < bounds.length; i++) {
    if (Number.isNaN(bounds[i]!) || (i > 0 && !(bounds[i]! > bounds[i - 1]!))) return 'histogram explicit bounds are not strictly increasing';
  }
  return null;
}
