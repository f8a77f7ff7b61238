/** Decodes an OTLP/JSON ExportMetricsServiceRequest into the same model as the protobuf decoder. */
import { type HistogramPoint, type MetricKind, type MetricsRequest, type NumberPoint, type OtlpMetric, type SummaryPoint, newMetric } from './metrics-model.js';
import { JsonReader, type JsonObject } from './otlp-json.js';

const TEMPORALITY_NAMES = ['AGGREGATION_TEMPORALITY_UNSPECIFIED', 'AGGREGATION_TEMPORALITY_DELTA', 'AGGREGATION_TEMPORALITY_CUMULATIVE'] as const;
const DATA_FIELDS: readonly [string, MetricKind][] = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
];

/** Decodes parsed OTLP/JSON; throws JsonShapeError naming the path of a malformed value. */
export function decodeMetricsRequestJson(json: unknown): MetricsRequest {
  const j = new JsonReader('otlp metrics JSON');
  const root = j.object(json, '$');
  return {
    resourceMetrics: j.array(root.resourceMetrics, 'resourceMetrics').map((rmv, i) => {
      const rp = `resourceMetrics[${i}]`;
      const rm = j.object(rmv, rp);
      return {
        resource: j.resource(rm.resource, `${rp}.resource`),
        scopeMetrics: j.array(rm.scopeMetrics, `${rp}.scopeMetrics`).map((smv, k) => {
          const sp = `${rp}.scopeMetrics[${k}]`;
          const sm = j.object(smv, sp);
          return {
            scope: j.scope(sm.scope, `${sp}.scope`),
            metrics: j.array(sm.metrics, `${sp}.metrics`).map((mv, n) => decodeMetric(j, j.object(mv, `${sp}.metrics[${n}]`), `${sp}.metrics[${n}]`)),
          };
        }),
      };
    }),
  };
}

function decodeMetric(j: JsonReader, o: JsonObject, path: string): OtlpMetric {
  const m = newMetric();
  m.name = j.string(o.name, `${path}.name`);
  m.description = j.string(o.description, `${path}.description`);
  m.unit = j.string(o.unit, `${path}.unit`);
  for (const [field, kind] of DATA_FIELDS) {
    const data = j.optObject(o[field], `${path}.${field}`);
    if (data === null) continue;
    const dp = `${path}.${field}`;
    m.kind = kind;
    m.temporality = j.enumValue(data.aggregationTemporality, `${dp}.aggregationTemporality`, TEMPORALITY_NAMES);
    m.monotonic = j.bool(data.isMonotonic, `${dp}.isMonotonic`);
    const points = j.array(data.dataPoints, `${dp}.dataPoints`);
    points.forEach((pv, i) => {
      const pp = `${dp}.dataPoints[${i}]`;
      const p = j.object(pv, pp);
      if (kind === 'gauge' || kind === 'sum') m.numberPoints.push(numberPoint(j, p, pp, m));
      else if (kind === 'histogram') m.histogramPoints.push(histogramPoint(j, p, pp, m));
      else if (kind === 'summary') m.summaryPoints.push(summaryPoint(j, p, pp));
      else m.exponentialPoints++;
    });
    break;
  }
  return m;
}

function numberPoint(j: JsonReader, p: JsonObject, path: string, m: OtlpMetric): NumberPoint {
  const exemplars = j.array(p.exemplars, `${path}.exemplars`).length;
  m.exemplars += exemplars;
  return {
    attributes: j.keyValues(p.attributes, `${path}.attributes`),
    startMs: j.nanosToMillis(p.startTimeUnixNano, `${path}.startTimeUnixNano`),
    timeMs: j.nanosToMillis(p.timeUnixNano, `${path}.timeUnixNano`),
    value: p.asInt !== undefined ? j.int64(p.asInt, `${path}.asInt`) : j.double(p.asDouble, `${path}.asDouble`),
    flags: j.int64(p.flags, `${path}.flags`),
    exemplars,
  };
}

function histogramPoint(j: JsonReader, p: JsonObject, path: string, m: OtlpMetric): HistogramPoint {
  const exemplars = j.array(p.exemplars, `${path}.exemplars`).length;
  m.exemplars += exemplars;
  const hasSum = p.sum !== undefined && p.sum !== null;
  return {
    attributes: j.keyValues(p.attributes, `${path}.attributes`),
    startMs: j.nanosToMillis(p.startTimeUnixNano, `${path}.startTimeUnixNano`),
    timeMs: j.nanosToMillis(p.timeUnixNano, `${path}.timeUnixNano`),
    count: j.int64(p.count, `${path}.count`),
    sum: hasSum ? j.double(p.sum, `${path}.sum`) : NaN,
    hasSum,
    bucketCounts: j.array(p.bucketCounts, `${path}.bucketCounts`).map((v, i) => j.int64(v, `${path}.bucketCounts[${i}]`)),
    bounds: j.array(p.explicitBounds, `${path}.explicitBounds`).map((v, i) => j.double(v, `${path}.explicitBounds[${i}]`)),
    flags: j.int64(p.flags, `${path}.flags`),
    exemplars,
  };
}

function summaryPoint(j: JsonReader, p: JsonObject, path: string): SummaryPoint {
  const quantiles: number[] = [];
  j.array(p.quantileValues, `${path}.quantileValues`).forEach((qv, i) => {
    const q = j.object(qv, `${path}.quantileValues[${i}]`);
    quantiles.push(j.double(q.quantile, `${path}.quantileValues[${i}].quantile`), j.double(q.value, `${path}.quantileValues[${i}].value`));
  });
  return {
    attributes: j.keyValues(p.attributes, `${path}.attributes`),
    startMs: j.nanosToMillis(p.startTimeUnixNano, `${path}.startTimeUnixNano`),
    timeMs: j.nanosToMillis(p.timeUnixNano, `${path}.timeUnixNano`),
    count: j.int64(p.count, `${path}.count`),
    sum: j.double(p.sum, `${path}.sum`),
    quantiles,
    flags: j.int64(p.flags, `${path}.flags`),
  };
}
