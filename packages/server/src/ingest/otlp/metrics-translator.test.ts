import { describe, expect, it } from 'vitest';
import { formatLabels } from '../../model/labels.js';
import { isStaleNaN } from '../../model/samples.js';
import type { Appender } from '../../storage/interfaces.js';
import { Rejections } from '../rejections.js';
import { decodeMetricsRequestJson } from './metrics-json-decoder.js';
import { translateMetrics } from './metrics-translator.js';
import { prometheusMetricName } from './prometheus-names.js';

function recorder(): Appender & { rows: [string, number, number][] } {
  const rows: [string, number, number][] = [];
  return {
    rows,
    append: (_ref, labels, t, v) => {
      rows.push([formatLabels(labels), t, v]);
      return 0;
    },
    updateMetadata: () => {},
    commit: async () => {},
    rollback: () => {},
  };
}

describe('translateMetrics', () => {
  it('writes the exact staleness marker for points without a recorded value', () => {
    const app = recorder();
    const req = decodeMetricsRequestJson({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'g', gauge: { dataPoints: [{ timeUnixNano: '2000000', asDouble: 3, flags: 1 }] } },
                { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '2000000', count: '1', sum: 1, bucketCounts: ['1', '0'], explicitBounds: [1], flags: 1 }] } },
              ],
            },
          ],
        },
      ],
    });
    translateMetrics(req, app, new Rejections());
    expect(app.rows.map((r) => r[0])).toEqual(['g', 'h_bucket{le="1"}', 'h_bucket{le="+Inf"}', 'h_sum', 'h_count']);
    for (const [series, t, v] of app.rows) {
      expect(t).toBe(2);
      expect(isStaleNaN(v), series).toBe(true);
    }
  });

  it('rejects histograms whose buckets do not match their bounds', () => {
    const app = recorder();
    const rejections = new Rejections();
    const req = decodeMetricsRequestJson({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '1000000', count: '1', bucketCounts: ['1'], explicitBounds: [1, 2] }] } }] }] }],
    });
    const result = translateMetrics(req, app, rejections);
    expect(result.rejectedDataPoints).toBe(1);
    expect(rejections.firstMessage).toBe('metric "h": histogram has 1 bucket counts for 2 explicit bounds (expected 3)');
    expect(app.rows).toEqual([]);
  });
});

describe('prometheusMetricName', () => {
  const cases: [string, string, 'counter' | 'gauge' | 'histogram' | 'summary', string][] = [
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['system.network.io', 'By', 'counter', 'system_network_io_bytes_total'],
    ['requests_total', '', 'counter', 'requests_total'],
    ['process.runtime.heap.bytes', 'By', 'gauge', 'process_runtime_heap_bytes'],
    ['system.memory.utilization', '1', 'gauge', 'system_memory_utilization_ratio'],
    ['items', '1', 'counter', 'items_total'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['packets', '{packet}', 'counter', 'packets_total'],
    ['weird--name!!x', 'furlongs', 'gauge', 'weird_name_x_furlongs'],
    ['2xx.count', '', 'gauge', '_2xx_count'],
  ];
  for (const [name, unit, kind, want] of cases) {
    it(`${name} [${unit}] as ${kind} → ${want}`, () => expect(prometheusMetricName(name, unit, kind)).toBe(want));
  }
});
