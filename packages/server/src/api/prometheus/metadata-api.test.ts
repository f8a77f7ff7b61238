import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AccessControl } from '../auth.js';
import { createHttpServer } from '../http-server.js';
import { createLogger } from '../../selfobs/logger.js';
import { createSelfMetrics } from '../../selfobs/metrics.js';
import { labelsFromRecord } from '../../model/labels.js';
import { MemoryStorage } from '../../storage/memory/memory-storage.js';
import { registerMetadataApi } from './metadata-api.js';

describe('Prometheus metadata API', () => {
  let app: FastifyInstance;
  const storage = new MemoryStorage();

  beforeAll(async () => {
    const a = storage.appender();
    const series = [
      { __name__: 'http_requests_total', job: 'api', instance: 'a:80', code: '200' },
      { __name__: 'http_requests_total', job: 'api', instance: 'a:80', code: '500' },
      { __name__: 'http_requests_total', job: 'web', instance: 'b:80', code: '200' },
      { __name__: 'up', job: 'api', instance: 'a:80' },
      { __name__: 'up', job: 'web', instance: 'b:80' },
    ];
    series.forEach((s, i) => {
      a.append(0, labelsFromRecord(s), 1_000_000 + i, i);
      a.append(0, labelsFromRecord(s), 2_000_000 + i, i);
    });
    a.updateMetadata('http_requests_total', { type: 'counter', help: 'Requests.', unit: '' });
    a.updateMetadata('up', { type: 'gauge', help: 'Target up.', unit: '' });
    await a.commit();
    app = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerMetadataApi(app, { queryable: storage, metadata: storage, status: storage, version: '9.9.9' });
    await app.ready();
  });
  afterAll(() => app.close());

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };

  it('lists series for match[] (union, sorted), GET and form POST alike', async () => {
    const res = await get('/api/v1/series?match[]=up&match[]=http_requests_total{code="500"}');
    expect(res).toEqual({
      status: 200,
      body: {
        status: 'success',
        data: [
          { __name__: 'http_requests_total', code: '500', instance: 'a:80', job: 'api' },
          { __name__: 'up', instance: 'a:80', job: 'api' },
          { __name__: 'up', instance: 'b:80', job: 'web' },
        ],
      },
    });
    const post = await app.inject({
      method: 'POST',
      url: '/api/v1/series',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'match%5B%5D=up%7Bjob%3D%22web%22%7D&start=0&end=3000',
    });
    expect(post.json()).toEqual({ status: 'success', data: [{ __name__: 'up', instance: 'b:80', job: 'web' }] });
  });

  it('honours start/end and limit', async () => {
    expect((await get('/api/v1/series?match[]=up&start=5000&end=6000')).body).toEqual({ status: 'success', data: [] });
    expect((await get('/api/v1/series?match[]=up&limit=1')).body).toEqual({
      status: 'success',
      data: [{ __name__: 'up', instance: 'a:80', job: 'api' }],
      warnings: ['results truncated due to limit'],
    });
  });

  it('rejects bad parameters with Prometheus errors', async () => {
    expect(await get('/api/v1/series')).toEqual({ status: 400, body: { status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' } });
    expect((await get('/api/v1/series?match[]=rate(up[5m])')).status).toBe(400);
    expect((await get('/api/v1/series?match[]={job=~".*"}')).status).toBe(400);
    expect((await get('/api/v1/series?match[]=up&start=yesterday')).body).toEqual({
      status: 'error',
      errorType: 'bad_data',
      error: 'invalid parameter "start": cannot parse "yesterday" to a valid timestamp',
    });
    expect((await get('/api/v1/labels?limit=-1')).status).toBe(400);
  });

  it('lists label names and values, optionally filtered', async () => {
    expect((await get('/api/v1/labels')).body).toEqual({ status: 'success', data: ['__name__', 'code', 'instance', 'job'] });
    expect((await get('/api/v1/labels?match[]=up')).body).toEqual({ status: 'success', data: ['__name__', 'instance', 'job'] });
    expect((await get('/api/v1/label/__name__/values')).body).toEqual({ status: 'success', data: ['http_requests_total', 'up'] });
    expect((await get('/api/v1/label/job/values?match[]=http_requests_total{code="500"}')).body).toEqual({ status: 'success', data: ['api'] });
    expect((await get('/api/v1/label/job/values?start=2000&end=2000.001')).body).toEqual({ status: 'success', data: ['api'] });
  });

  it('serves metric metadata', async () => {
    expect((await get('/api/v1/metadata')).body).toEqual({
      status: 'success',
      data: { http_requests_total: [{ type: 'counter', help: 'Requests.', unit: '' }], up: [{ type: 'gauge', help: 'Target up.', unit: '' }] },
    });
    expect((await get('/api/v1/metadata?metric=up')).body).toEqual({ status: 'success', data: { up: [{ type: 'gauge', help: 'Target up.', unit: '' }] } });
  });

  it('serves build info and TSDB status', async () => {
    const info = (await get('/api/v1/status/buildinfo')).body as { data: Record<string, string> };
    expect(info.data.version).toBe('3.0.0');
    expect(info.data.watchkeeperVersion).toBe('9.9.9');
    const tsdb = (await get('/api/v1/status/tsdb?limit=1')).body as { data: { headStats: { numSeries: number }; seriesCountByMetricName: unknown[] } };
    expect(tsdb.data.headStats.numSeries).toBe(5);
    expect(tsdb.data.seriesCountByMetricName).toEqual([{ name: 'http_requests_total', value: 3 }]);
    expect((await get('/api/v1/status/tsdb?limit=0')).status).toBe(400);
  });
});
