import { pino } from 'pino';
import pinoLoki from 'pino-loki';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogsHarness, type LogsHarness } from '../../../test/support/logs-harness.js';
import { ProtoWriter } from '../protobuf/proto-writer.js';

let h: LogsHarness;

beforeAll(async () => {
  h = await createLogsHarness();
  await h.listen();
});
afterAll(async () => {
  await h.close();
});

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

function pushJson(body: unknown) {
  return h.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

/** A Loki PushRequest in protobuf, snappy-compressed, as Promtail and Alloy send it. */
function pushProto(streams: { labels: string; entries: { ns: bigint; line: string; meta?: [string, string][] }[] }[]) {
  const req = new ProtoWriter();
  for (const s of streams) {
    const stream = new ProtoWriter().string(1, s.labels);
    for (const e of s.entries) {
      const ts = new ProtoWriter().int64(1, e.ns / 1_000_000_000n).int(2, Number(e.ns % 1_000_000_000n)).finish();
      const entry = new ProtoWriter().bytes(1, ts).string(2, e.line);
      for (const [name, value] of e.meta ?? []) entry.bytes(3, new ProtoWriter().string(1, name).string(2, value).finish());
      stream.bytes(2, entry.finish());
    }
    req.bytes(1, stream.finish());
  }
  return h.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/x-protobuf' }, payload: compressSync(req.finish()) });
}

describe('POST /loki/api/v1/push', () => {
  it('stores JSON pushes with labels, structured metadata, a derived service_name and level', async () => {
    const t = nowNs();
    const res = await pushJson({
      streams: [{ stream: { app: 'json-app', env: 'prod' }, values: [[String(t), 'level=warn msg="disk almost full"', { trace_id: 'AB'.repeat(16), request_id: 'req-json-1' }]] }],
    });
    expect(res.statusCode).toBe(204);
    const data = await h.queryRange('{app="json-app"} | request_id="req-json-1"');
    expect(data.result).toEqual([{ stream: { app: 'json-app', env: 'prod', service_name: 'json-app', level: 'warn' }, values: [[String(t), 'level=warn msg="disk almost full"']] }]);
    const byTrace = await h.app.inject({ method: 'GET', url: `/api/v1/logs?query=${encodeURIComponent('{service_name="json-app"} | trace_id="' + 'ab'.repeat(16) + '"')}` });
    expect(byTrace.json().data.entries).toMatchObject([{ request_id: 'req-json-1', trace_id: 'ab'.repeat(16), level: 'warn' }]);
  });

  it('stores snappy protobuf pushes with nanosecond timestamps', async () => {
    const t = nowNs() + 123n;
    const res = await pushProto([{ labels: '{app="proto-app", level="error"}', entries: [{ ns: t, line: 'boom', meta: [['span_id', '00f067aa0ba902b7']] }] }]);
    expect(res.statusCode).toBe(204);
    const data = await h.queryRange('{app="proto-app"}');
    expect(data.result).toEqual([{ stream: { app: 'proto-app', level: 'error', service_name: 'proto-app' }, values: [[String(t), 'boom']] }]);
  });

  it('filters by a stream level label as Loki does, and by the detected level otherwise', async () => {
    const t = nowNs();
    const res = await pushJson({ streams: [{ stream: { app: 'lvl', level: 'WARNING' }, values: [[String(t), 'labelled']] }, { stream: { app: 'lvl' }, values: [[String(t), 'level=warn detected']] }] });
    expect(res.statusCode).toBe(204);
    const lines = async (q: string) => (await h.queryRange(q)).result.flatMap((s) => s.values.map((v) => v[1]));
    expect(await lines('{app="lvl"} | level="WARNING"')).toEqual(['labelled']);
    expect(await lines('{app="lvl"} | level="warn"')).toEqual(['level=warn detected']);
  });

  it('answers 429 with Retry-After when the write queue is full, and stores nothing of that request', async () => {
    const small = await createLogsHarness({ maxQueuedRows: 10 });
    try {
      let releaseWriter = (): void => undefined;
      const held = small.store.writes.exclusive(() => new Promise<void>((r) => (releaseWriter = r)));
      const queued = small.store.logs.append(Array.from({ length: 8 }, (_, i) => ({
        timeNs: nowNs() + BigInt(i), observedNs: nowNs(), service: 'q', level: '', severityText: '', severity: 0, body: `queued ${i}`,
        traceId: '', spanId: '', requestId: '', stream: [{ name: 'service_name', value: 'q' }], attributes: {}, resource: {},
      })));
      const values = Array.from({ length: 5 }, (_, i) => [String(nowNs() + BigInt(i)), `refused ${i}`]);
      const res = await small.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ streams: [{ stream: { app: 'q' }, values }] }) });
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBe('1');
      releaseWriter();
      await held;
      await queued;
      expect(await small.lineCount()).toBe(8);
    } finally {
      await small.close();
    }
  });

  it('keeps valid streams of a partly bad push and names the rejected entries', async () => {
    const t = nowNs();
    const res = await pushJson({
      streams: [
        { stream: { app: 'partial' }, values: [[String(t), 'good line'], ['yesterday', 'bad time']] },
        { stream: { 'bad-name': 'x' }, values: [[String(t), 'bad labels']] },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toContain('1 entries stored, 2 of 3 entries rejected');
    expect(res.json().error).toContain('streams[0].values[1]: timestamp must be a string of nanoseconds');
    expect(res.json().error).toContain('streams[1].entries[0]: invalid stream label name "bad-name"');
    expect((await h.queryRange('{app="partial"}')).result.flatMap((s) => s.values.map((v) => v[1]))).toEqual(['good line']);
  });

  it('accepts lines from the pino-loki client unchanged', async () => {
    const stream = pinoLoki({ host: h.url, batching: false, labels: { app: 'pino-loki-app' }, silenceErrors: false });
    const logger = pino({ level: 'info' }, stream);
    logger.info({ request_id: 'pl-1' }, 'hello from pino-loki');
    logger.error('something failed');
    let values: string[] = [];
    for (let i = 0; i < 100 && values.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      values = (await h.queryRange('{app="pino-loki-app"}')).result.flatMap((s) => s.values.map((v) => v[1]));
    }
    stream.end();
    expect(values).toHaveLength(2);
    expect(values.some((v) => v.includes('hello from pino-loki'))).toBe(true);
    const errors = await h.queryRange('{app="pino-loki-app"} |= "something failed"');
    expect(errors.result[0]!.stream.level).toBe('error');
  });

  it('answers 4xx to malformed and random bodies and stores nothing', async () => {
    const before = await h.lineCount();
    let seed = 42;
    const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
    const bodies: [string, Buffer | string][] = [
      ['application/json', '{"streams":'],
      ['application/json', '{"streams":{}}'],
      ['application/json', '[1,2]'],
      ['application/json', '{"streams":[{"stream":{"app":"x"},"values":[[1,"line"]]}]}'],
      ['application/x-protobuf', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ['application/x-protobuf', compressSync(Buffer.from([0x0a, 0x05, 0x0a, 0x10]))],
      ['application/x-protobuf', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])],
      ['text/csv', 'a,b'],
    ];
    for (let i = 0; i < 40; i++) bodies.push([i % 2 ? 'application/json' : 'application/x-protobuf', random(1 + ((i * 37) % 300))]);
    for (let i = 0; i < 20; i++) bodies.push(['application/x-protobuf', compressSync(random(1 + ((i * 53) % 400)))]);
    for (const [type, payload] of bodies) {
      const res = await h.app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': type }, payload });
      expect(res.statusCode, `${type} ${Buffer.from(payload).toString('hex').slice(0, 40)}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json().error).toMatch(/\S/);
    }
    expect(await h.lineCount()).toBe(before);
  });
});
