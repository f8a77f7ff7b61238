import { describe, expect, it } from 'vitest';
import { isExcluded, resolveOptions } from './options.js';
import { templateOfPath } from './middleware/node-http.js';
import type { IncomingMessage } from 'node:http';

describe('resolveOptions', () => {
  it('derives OTLP URLs from the endpoint, WATCHKEEPER_URL or the OTEL_* variables', () => {
    expect(resolveOptions({ service: 's', endpoint: 'http://wk:9090/', env: {} })).toMatchObject({ tracesUrl: 'http://wk:9090/v1/traces', logsUrl: 'http://wk:9090/v1/logs' });
    expect(resolveOptions({ service: 's', env: { WATCHKEEPER_URL: 'http://a:1' } }).tracesUrl).toBe('http://a:1/v1/traces');
    const o = resolveOptions({ service: 's', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l:1/logs', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } });
    expect(o).toMatchObject({ tracesUrl: 'http://c:4318/v1/traces', logsUrl: 'http://l:1/logs', otlpProtocol: 'grpc' });
    expect(resolveOptions({ service: 's', env: {} })).toMatchObject({ tracesUrl: null, logsUrl: null, dsn: null });
  });

  it('reads LOG_LEVEL, the DSN, the service name and sampling from the environment', () => {
    const o = resolveOptions({ service: '', env: { OTEL_SERVICE_NAME: 'svc', LOG_LEVEL: 'warn', SENTRY_DSN: 'https://k@h/1', OTEL_TRACES_SAMPLER_ARG: '0.25' } });
    expect(o).toMatchObject({ service: 'svc', dsn: 'https://k@h/1', logging: { level: 'warn', ship: false }, tracing: { sampleRate: 0.25 } });
  });

  it('rejects a missing service and out-of-range rates clearly', () => {
    expect(() => resolveOptions({ service: '', env: {} })).toThrow(/service/);
    expect(() => resolveOptions({ service: 's', errors: { sampleRate: 2 }, env: {} })).toThrow(/errors.sampleRate must be a number from 0 to 1/);
  });

  it('always excludes health, metrics and docs paths', () => {
    const { excludePaths } = resolveOptions({ service: 's', http: { excludePaths: [/^\/internal\//] }, env: {} });
    for (const p of ['/metrics', '/healthz', '/healthz/ready', '/docs/index.html', '/internal/x']) expect(isExcluded(p, excludePaths), p).toBe(true);
    for (const p of ['/users/1', '/healthzz', '/metrics/x']) expect(isExcluded(p, excludePaths), p).toBe(false);
  });
});

describe('templateOfPath', () => {
  it('replaces ids, UUIDs and long hex segments with :id', () => {
    const req = {} as IncomingMessage;
    expect(templateOfPath(req, '/users/42/orders/3f2c1a6e-8b7d-4c1e-9f00-123456789abc')).toBe('/users/:id/orders/:id');
    expect(templateOfPath(req, '/traces/0af7651916cd43dd8448eb211c80319c')).toBe('/traces/:id');
    expect(templateOfPath(req, '/products/shoes')).toBe('/products/shoes');
  });
});
