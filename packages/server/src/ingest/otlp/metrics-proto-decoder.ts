/**
 * Decodes an OTLP ExportMetricsServiceRequest (opentelemetry/proto/metrics/v1) from protobuf.
 *
 * ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
 * ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
 * ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
 * Metric { name = 1; description = 2; unit = 3; oneof { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
 *          ExponentialHistogram exponential_histogram = 10; Summary summary = 11; } }
 * Gauge/Sum/Histogram/ExponentialHistogram/Summary { repeated points = 1; temporality = 2 (enum); is_monotonic = 3 (Sum) }
 * NumberDataPoint { attributes = 7; start_time_unix_nano = 2 (fixed64); time_unix_nano = 3; as_double = 4; as_int = 6 (sfixed64);
 *                   exemplars = 5; flags = 8 }
 * HistogramDataPoint { attributes = 9; start = 2; time = 3; count = 4 (fixed64); sum = 5 (double); bucket_counts = 6 (fixed64, packed);
 *                      explicit_bounds = 7 (double, packed); exemplars = 8; flags = 10 }
 * SummaryDataPoint { attributes = 7; start = 2; time = 3; count = 4 (fixed64); sum = 5; quantile_values = 6 { quantile = 1; value = 2 }; flags = 8 }
 */
import { ProtoReader, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, expectWireType } from '../protobuf/proto-reader.js';
import { decodeKeyValue, decodeResource, decodeScope, EMPTY_SCOPE, type KeyValue } from './otlp-common.js';
import { type HistogramPoint, type MetricsRequest, type NumberPoint, type OtlpMetric, type ResourceMetrics, type ScopeMetrics, type SummaryPoint, newMetric } from './metrics-model.js';

const LD = WIRE_LENGTH_DELIMITED;

/** Decodes a protobuf ExportMetricsServiceRequest; throws DecodeError on malformed input. */
export function decodeMetricsRequestProto(body: Uint8Array): MetricsRequest {
  const r = new ProtoReader(body, 'otlp metrics');
  const resourceMetrics: ResourceMetrics[] = [];
  const end = r.length;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) resourceMetrics.push(decodeResourceMetrics(r, r.messageEnd(end)));
    else r.skip(key & 7);
  }
  return { resourceMetrics };
}

function decodeResourceMetrics(r: ProtoReader, end: number): ResourceMetrics {
  let resource: KeyValue[] = [];
  const scopeMetrics: ScopeMetrics[] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) resource = decodeResource(r, r.messageEnd(end));
    else if (key === ((2 << 3) | LD)) scopeMetrics.push(decodeScopeMetrics(r, r.messageEnd(end)));
    else r.skip(key & 7);
  }
  r.expectEnd(end, 'ResourceMetrics');
  return { resource, scopeMetrics };
}

function decodeScopeMetrics(r: ProtoReader, end: number): ScopeMetrics {
  let scope = EMPTY_SCOPE;
  const metrics: OtlpMetric[] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) scope = decodeScope(r, r.messageEnd(end));
    else if (key === ((2 << 3) | LD)) metrics.push(decodeMetric(r, r.messageEnd(end)));
    else r.skip(key & 7);
  }
  r.expectEnd(end, 'ScopeMetrics');
  return { scope, metrics };
}

function decodeMetric(r: ProtoReader, end: number): OtlpMetric {
  const m = newMetric();
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field <= 3 && (key & 7) === LD) {
      const s = r.string(end);
      if (field === 1) m.name = s;
      else if (field === 2) m.description = s;
      else m.unit = s;
    } else if (field === 5 || field === 7 || field === 9 || field === 10 || field === 11) {
      expectWireType(r, key, LD, 'Metric.data');
      m.kind = field === 5 ? 'gauge' : field === 7 ? 'sum' : field === 9 ? 'histogram' : field === 10 ? 'exponential_histogram' : 'summary';
      decodeData(r, r.messageEnd(end), m);
    } else {
      r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'Metric');
  return m;
}

function decodeData(r: ProtoReader, end: number, m: OtlpMetric): void {
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) {
      const pointEnd = r.messageEnd(end);
      if (m.kind === 'gauge' || m.kind === 'sum') m.numberPoints.push(decodeNumberPoint(r, pointEnd, m));
      else if (m.kind === 'histogram') m.histogramPoints.push(decodeHistogramPoint(r, pointEnd, m));
      else if (m.kind === 'summary') m.summaryPoints.push(decodeSummaryPoint(r, pointEnd));
      else {
        m.exponentialPoints++;
        r.pos = pointEnd;
      }
    } else if (key === ((2 << 3) | WIRE_VARINT)) {
      m.temporality = r.uint32();
    } else if (key === ((3 << 3) | WIRE_VARINT)) {
      m.monotonic = r.bool();
    } else {
      r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'metric data');
}

function decodeNumberPoint(r: ProtoReader, end: number, m: OtlpMetric): NumberPoint {
  const p: NumberPoint = { attributes: [], startMs: 0, timeMs: 0, value: 0, flags: 0, exemplars: 0 };
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key) {
      case (7 << 3) | LD:
        p.attributes.push(decodeKeyValue(r, r.messageEnd(end)));
        break;
      case (2 << 3) | WIRE_FIXED64:
        p.startMs = r.fixed64NanosToMillis();
        break;
      case (3 << 3) | WIRE_FIXED64:
        p.timeMs = r.fixed64NanosToMillis();
        break;
      case (4 << 3) | WIRE_FIXED64:
        p.value = r.double();
        break;
      case (6 << 3) | WIRE_FIXED64:
        p.value = r.sfixed64();
        break;
      case (5 << 3) | LD:
        p.exemplars++;
        m.exemplars++;
        r.pos = r.messageEnd(end);
        break;
      case (8 << 3) | WIRE_VARINT:
        p.flags = r.uint32();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'NumberDataPoint');
  return p;
}

function decodeHistogramPoint(r: ProtoReader, end: number, m: OtlpMetric): HistogramPoint {
  const p: HistogramPoint = { attributes: [], startMs: 0, timeMs: 0, count: 0, sum: NaN, hasSum: false, bucketCounts: [], bounds: [], flags: 0, exemplars: 0 };
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key) {
      case (9 << 3) | LD:
        p.attributes.push(decodeKeyValue(r, r.messageEnd(end)));
        break;
      case (2 << 3) | WIRE_FIXED64:
        p.startMs = r.fixed64NanosToMillis();
        break;
      case (3 << 3) | WIRE_FIXED64:
        p.timeMs = r.fixed64NanosToMillis();
        break;
      case (4 << 3) | WIRE_FIXED64:
        p.count = r.fixed64();
        break;
      case (5 << 3) | WIRE_FIXED64:
        p.sum = r.double();
        p.hasSum = true;
        break;
      case (6 << 3) | LD:
        readPackedFixed64(r, r.messageEnd(end), p.bucketCounts, false);
        break;
      case (6 << 3) | WIRE_FIXED64:
        p.bucketCounts.push(r.fixed64());
        break;
      case (7 << 3) | LD:
        readPackedFixed64(r, r.messageEnd(end), p.bounds, true);
        break;
      case (7 << 3) | WIRE_FIXED64:
        p.bounds.push(r.double());
        break;
      case (8 << 3) | LD:
        p.exemplars++;
        m.exemplars++;
        r.pos = r.messageEnd(end);
        break;
      case (10 << 3) | WIRE_VARINT:
        p.flags = r.uint32();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'HistogramDataPoint');
  return p;
}

function readPackedFixed64(r: ProtoReader, end: number, out: number[], asDouble: boolean): void {
  if ((end - r.pos) % 8 !== 0) throw r.error('packed 64-bit field length is not a multiple of 8');
  while (r.pos < end) out.push(asDouble ? r.double() : r.fixed64());
}

function decodeSummaryPoint(r: ProtoReader, end: number): SummaryPoint {
  const p: SummaryPoint = { attributes: [], startMs: 0, timeMs: 0, count: 0, sum: 0, quantiles: [], flags: 0 };
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key) {
      case (7 << 3) | LD:
        p.attributes.push(decodeKeyValue(r, r.messageEnd(end)));
        break;
      case (2 << 3) | WIRE_FIXED64:
        p.startMs = r.fixed64NanosToMillis();
        break;
      case (3 << 3) | WIRE_FIXED64:
        p.timeMs = r.fixed64NanosToMillis();
        break;
      case (4 << 3) | WIRE_FIXED64:
        p.count = r.fixed64();
        break;
      case (5 << 3) | WIRE_FIXED64:
        p.sum = r.double();
        break;
      case (6 << 3) | LD: {
        const qEnd = r.messageEnd(end);
        let quantile = 0;
        let value = 0;
        while (r.pos < qEnd) {
          const k = r.tag(qEnd);
          if (k === ((1 << 3) | WIRE_FIXED64)) quantile = r.double();
          else if (k === ((2 << 3) | WIRE_FIXED64)) value = r.double();
          else r.skip(k & 7);
        }
        r.expectEnd(qEnd, 'ValueAtQuantile');
        p.quantiles.push(quantile, value);
        break;
      }
      case (8 << 3) | WIRE_VARINT:
        p.flags = r.uint32();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'SummaryDataPoint');
  return p;
}
