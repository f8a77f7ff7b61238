import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AccessControl } from '../auth.js';
import { createHttpServer } from '../http-server.js';
import { createLogger } from '../../selfobs/logger.js';
import { createSelfMetrics } from '../../selfobs/metrics.js';
import { labelsFromRecord } from '../../model/labels.js';
import { MemoryStorage } from '../../storage/memory/memory-storage.js';
import { Engine } from '../../promql/index.js';
import { registerQueryApi } from './query-api.js';
import { formatTimestamp } from './query-json.js';

describe('Prometheus query API', () => {
  let app: FastifyInstance;
  const storage = new MemoryStorage();

  beforeAll(async () => {
    const a = storage.appender();
    for (let i = 0; i <= 10; i++) {
      a.append(0, labelsFromRecord({ __name__: 'reqs_total', job: 'api' }), 1_700_000_000_000 + i * 15_000, i * 15);
      a.append(0, labelsFromRecord({ __name__: 'temp', room: 'a' }), 1_700_000_000_000 + i * 15_000, i === 10 ? 1e21 : 0.1 * i);
    }
    await a.commit();
    app = createHttpServer({ logger: createLogger('silent'), metrics: createSelfMetrics('test'), accessControl: () => new AccessControl([]), bodyLimitBytes: 1 << 20 });
    registerQueryApi(app, { engine: new Engine(), queryable: storage });
    await app.ready();
  });
  afterAll(() => app.close());

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, text: res.body };
  };

  it('answers an instant query with Prometheus bytes', async () => {
    const res = await get('/api/v1/query?query=reqs_total%20*%202&time=1700000150.5');
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[1700000150.500,"300"]}]}}');
  });

  it('formats floats without exponents and special values as Prometheus', async () => {
    const res = await get('/api/v1/query?query=temp&time=1700000150');
    expect(res.text).toContain('"value":[1700000150,"1000000000000000000000"]');
    const nan = await get('/api/v1/query?query=0/0&time=1700000150');
    expect(nan.text).toBe('{"status":"success","data":{"resultType":"scalar","result":[1700000150,"NaN"]}}');
    const inf = await get('/api/v1/query?query=-1/0&time=1700000150');
    expect(inf.text).toContain('"-Inf"');
  });

  it('answers a form-encoded range query and reports infos', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/query_range',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'query=rate(temp%5B1m%5D)&start=2023-11-14T22:14:20Z&end=1700000090&step=30s',
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { data: { resultType: string; result: { values: [number, string][] }[] }; infos: string[] };
    expect(body.data.resultType).toBe('matrix');
    expect(body.data.result[0]!.values.map((p) => p[0])).toEqual([1700000060, 1700000090]);
    expect(body.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "temp" (1:6)']);
  });

  it('maps errors to Prometheus error types and statuses', async () => {
    const parse = await get('/api/v1/query?query=sum(');
    expect(parse.status).toBe(400);
    expect(JSON.parse(parse.text)).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect(JSON.parse(parse.text).error).toMatch(/^invalid parameter "query": 1:5: parse error/);
    const points = await get('/api/v1/query_range?query=temp&start=0&end=100000&step=1');
    expect(points.status).toBe(400);
    expect(JSON.parse(points.text).error).toBe('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    const exec = await get('/api/v1/query?query=reqs_total%2Bon()%20(reqs_total%20or%20temp)&time=1700000150');
    expect(exec.status).toBe(422);
    expect(JSON.parse(exec.text).errorType).toBe('execution');
    const badTime = await get('/api/v1/query?query=1&time=yesterday');
    expect(badTime.status).toBe(400);
    expect(JSON.parse((await get('/api/v1/query')).text).error).toBe('invalid parameter "query": 1:1: parse error: no expression found in input');
    expect(JSON.parse((await get('/api/v1/query_range?query=1&end=1&step=1')).text).error).toBe('invalid parameter "start": cannot parse "" to a valid timestamp');
  });

  it('formats and parses queries, and has no exemplars', async () => {
    expect(JSON.parse((await get('/api/v1/format_query?query=sum%20by(job)(rate(x%7Ba%3D%22b%22%7D%5B5m%5D))')).text)).toEqual({
      status: 'success',
      data: 'sum by (job) (rate(x{a="b"}[5m]))',
    });
    const parsed = JSON.parse((await get('/api/v1/parse_query?query=up%20offset%201m')).text);
    expect(parsed.data).toMatchObject({ type: 'vectorSelector', name: 'up', offset: 60000 });
    expect(JSON.parse((await get('/api/v1/query_exemplars?query=up&start=0&end=1')).text)).toEqual({ status: 'success', data: [] });
  });

  it('prints timestamps as seconds with a millisecond fraction', () => {
    expect(formatTimestamp(1500)).toBe('1.500');
    expect(formatTimestamp(-1005)).toBe('-1.005');
    expect(formatTimestamp(42000)).toBe('42');
  });
});
