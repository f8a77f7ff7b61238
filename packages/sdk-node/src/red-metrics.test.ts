/** RED metrics rendered by prom-client: cumulative buckets, sum and count per series, the series bound. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RedMetrics } from './red-metrics.js';

describe('RedMetrics', () => {
  it('renders counts and cumulative buckets per (method, route, status) in the Prometheus text format', async () => {
    const registry = new Registry();
    const red = new RedMetrics(registry, [0.01, 0.1], () => {});
    red.observe('GET', '/users/:id', 200, 0.004);
    red.observe('GET', '/users/:id', 200, 0.05);
    red.observe('GET', '/users/:id', 200, 0.1);
    red.observe('POST', '/orders', 503, 2);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(text).toContain('http_requests_total{method="GET",route="/users/:id",status="200"} 3');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('http_request_duration_seconds_bucket{method="GET",route="/users/:id",status="200",le="0.01"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{method="GET",route="/users/:id",status="200",le="0.1"} 3');
    expect(text).toContain('http_request_duration_seconds_bucket{method="POST",route="/orders",status="503",le="0.1"} 0');
    expect(text).toContain('http_request_duration_seconds_bucket{method="POST",route="/orders",status="503",le="+Inf"} 1');
    expect(text).toContain('http_request_duration_seconds_sum{method="POST",route="/orders",status="503"} 2');
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/users/:id",status="200"} 3');
  });

  it('drops and counts requests of series beyond its bound', () => {
    let dropped = 0;
    const red = new RedMetrics(new Registry(), [1], () => dropped++);
    for (let i = 0; i < 1005; i++) red.observe('GET', `/r${i}`, 200, 0.5);
    red.observe('GET', '/r0', 200, 0.5);
    expect(dropped).toBe(5);
  });
});
