import { describe, expect, it } from 'vitest';
import { encodeMetricsRequest, metricsRequestJson } from '../../../test/support/otlp-root.js';
import { DecodeError } from '../protobuf/proto-reader.js';
import { decodeMetricsRequestJson } from './metrics-json-decoder.js';
import { decodeMetricsRequestProto } from './metrics-proto-decoder.js';
import { KeyValueList } from './otlp-common.js';
import { JsonShapeError } from './otlp-json.js';

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function randomRequest(rand: () => number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number) => Math.floor(rand() * n);
  const nanos = () => String(BigInt(1_600_000_000_000 + int(1e11)) * 1_000_000n + BigInt(int(1_000_000)));
  const anyValue = (depth: number): unknown =>
    pick([
      () => ({ stringValue: `s${int(1000)}ü` }),
      () => ({ boolValue: rand() < 0.5 }),
      () => ({ intValue: String(int(2 ** 31) * (rand() < 0.5 ? -1 : 1) * 2 ** int(30)) }),
      () => ({ doubleValue: (rand() - 0.5) * 1e6 }),
      () => ({ bytesValue: Buffer.from([int(256), int(256)]).toString('base64') }),
      () => (depth > 1 ? { stringValue: 'leaf' } : { arrayValue: { values: [anyValue(depth + 1), anyValue(depth + 1)] } }),
      () => (depth > 1 ? { stringValue: 'leaf' } : { kvlistValue: { values: [{ key: 'k', value: anyValue(depth + 1) }] } }),
    ])();
  const attrs = () => Array.from({ length: int(4) }, (_, i) => ({ key: `a.${i}`, value: anyValue(0) }));
  const common = () => ({ attributes: attrs(), startTimeUnixNano: nanos(), timeUnixNano: nanos(), flags: int(2) });
  const exemplars = () => Array.from({ length: int(2) }, () => ({ timeUnixNano: nanos(), asDouble: rand(), traceId: Buffer.alloc(16, 1).toString('base64') }));
  const metric = () => {
    const base = { name: `m.${int(100)}`, description: 'd', unit: pick(['s', 'By', '1', '{req}', 'ms/s', '']) };
    const n = 1 + int(3);
    switch (int(5)) {
      case 0:
        return { ...base, gauge: { dataPoints: Array.from({ length: n }, () => ({ ...common(), ...(rand() < 0.5 ? { asDouble: rand() * 100 } : { asInt: String(int(1e9)) }) })) } };
      case 1:
        return {
          ...base,
          sum: { aggregationTemporality: 1 + int(2), isMonotonic: rand() < 0.5, dataPoints: Array.from({ length: n }, () => ({ ...common(), asDouble: rand() * 100, exemplars: exemplars() })) },
        };
      case 2:
        return {
          ...base,
          histogram: {
            aggregationTemporality: 2,
            dataPoints: Array.from({ length: n }, () => ({ ...common(), count: String(int(1000)), sum: rand() * 10, bucketCounts: ['1', '2', String(int(9))], explicitBounds: [0.5, 1], exemplars: exemplars() })),
          },
        };
      case 3:
        return {
          ...base,
          summary: { dataPoints: Array.from({ length: n }, () => ({ ...common(), count: String(int(1000)), sum: rand(), quantileValues: [{ quantile: 0.5, value: rand() }, { quantile: 0.99, value: rand() }] })) },
        };
      default:
        return { ...base, exponentialHistogram: { aggregationTemporality: 2, dataPoints: Array.from({ length: n }, () => ({ ...common(), count: '3', scale: 2 })) } };
    }
  };
  return {
    resourceMetrics: Array.from({ length: 1 + int(2) }, () => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc${int(5)}` } }, ...attrs()] },
      scopeMetrics: Array.from({ length: 1 + int(2) }, () => ({
        scope: { name: `scope${int(3)}`, version: '1.0', attributes: attrs() },
        metrics: Array.from({ length: 1 + int(4) }, metric),
      })),
    })),
  };
}

describe('OTLP metrics decoders', () => {
  it('protobuf and JSON decoders agree with protobufjs (OpenTelemetry JS generated codec) on random requests', () => {
    const rand = rng(2024);
    let points = 0;
    for (let i = 0; i < 150; i++) {
      const bytes = encodeMetricsRequest(randomRequest(rand));
      const fromProto = decodeMetricsRequestProto(bytes);
      const fromJson = decodeMetricsRequestJson(JSON.parse(JSON.stringify(metricsRequestJson(bytes))));
      expect(fromProto).toEqual(fromJson);
      const metrics = fromProto.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
      points += metrics.reduce((n, m) => n + m.numberPoints.length + m.histogramPoints.length + m.summaryPoints.length, 0);
    }
    expect(points).toBeGreaterThan(500);
  });

  it('decodes values, exact millisecond times and attribute types', () => {
    const bytes = encodeMetricsRequest({
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }, { key: 'n', value: { intValue: '-9007199254740993' } }] },
          scopeMetrics: [
            {
              scope: { name: 'lib', version: '2' },
              metrics: [
                {
                  name: 'requests',
                  unit: '1',
                  sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: '1700000000123999999', asInt: '42', attributes: [{ key: 'kv', value: { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } } }] }] },
                },
                { name: 'lat', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1700000000000000000', count: '3', sum: 1.5, bucketCounts: ['1', '2'], explicitBounds: [0.25] }] } },
              ],
            },
          ],
        },
      ],
    });
    const req = decodeMetricsRequestProto(bytes);
    const rm = req.resourceMetrics[0]!;
    expect(rm.resource).toEqual([
      { key: 'service.name', value: 'shop' },
      { key: 'n', value: -9007199254740993n },
    ]);
    const [sum, hist] = rm.scopeMetrics[0]!.metrics;
    expect(sum!.kind).toBe('sum');
    expect(sum!.monotonic).toBe(true);
    expect(sum!.temporality).toBe(2);
    expect(sum!.numberPoints[0]).toMatchObject({ timeMs: 1700000000123, value: 42 });
    expect(sum!.numberPoints[0]!.attributes[0]!.value).toEqual(new KeyValueList([{ key: 'x', value: true }]));
    expect(hist!.histogramPoints[0]).toMatchObject({ timeMs: 1700000000000, count: 3, sum: 1.5, hasSum: true, bucketCounts: [1, 2], bounds: [0.25] });
  });

  it('rejects truncated protobuf at every cut point with a DecodeError', () => {
    const bytes = encodeMetricsRequest(randomRequest(rng(5)));
    for (let cut = 1; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 300))) {
      let caught: unknown = null;
      try {
        decodeMetricsRequestProto(bytes.subarray(0, cut));
      } catch (err) {
        caught = err;
      }
      // A cut exactly between two top-level messages leaves a valid, shorter request.
      if (caught !== null) expect(caught).toBeInstanceOf(DecodeError);
    }
    expect(() => decodeMetricsRequestProto(bytes.subarray(0, bytes.length - 1))).toThrow(/otlp metrics: .* at byte \d+/);
  });

  it('names the JSON path of malformed values', () => {
    expect(() => decodeMetricsRequestJson({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{ timeUnixNano: 'soon' }] } }] }] }] })).toThrow(
      new JsonShapeError('otlp metrics JSON', 'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano', 'expected a Unix time in nanoseconds (decimal string or number), got "soon"'),
    );
    expect(() => decodeMetricsRequestJson([])).toThrow(/\$: expected an object/);
    expect(() => decodeMetricsRequestJson({ resourceMetrics: {} })).toThrow(/resourceMetrics: expected an array/);
  });
});
