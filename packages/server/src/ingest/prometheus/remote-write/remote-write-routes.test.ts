import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHarness, dumpStorage, type IngestHarness } from '../../../../test/support/ingest-harness.js';
import { encodeWriteRequest, snappyWriteRequest } from '../../../../test/support/remote-write-proto.js';
import { registerRemoteWriteRoutes } from './remote-write-routes.js';
import type { Appendable } from '../../../storage/interfaces.js';

/** The receiver's clock in these tests, ms. */
const NOW = 1_000_000;
const HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

let h: IngestHarness;

beforeAll(async () => {
  h = createIngestHarness({ bodyLimitBytes: 64 * 1024 });
  registerRemoteWriteRoutes(h.app, { appendable: h.storage, logger: h.logger, registry: h.metrics.registry, maxDecompressedBytes: 256 * 1024, now: () => NOW });
  await h.app.ready();
  const seed = snappyWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'seed' }], samples: [{ value: 1, timestamp: 1000 }] }],
  });
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/write', headers: HEADERS, payload: seed });
  expect(res.statusCode).toBe(204);
});

afterAll(async () => {
  await h.close();
});

function post(payload: Buffer | string, headers: Record<string, string> = HEADERS) {
  return h.app.inject({ method: 'POST', url: '/api/v1/write', headers, payload });
}

describe('POST /api/v1/write', () => {
  it('stores samples and metadata and answers 204', async () => {
    const res = await post(
      snappyWriteRequest({
        timeseries: [
          { labels: [{ name: '__name__', value: 'temp' }, { name: 'room', value: 'a' }], samples: [{ value: 20.5, timestamp: 1000 }, { value: 21, timestamp: 2000 }] },
        ],
        metadata: [{ type: 2, metric_family_name: 'temp', help: 'Temperature.', unit: 'celsius' }],
      }),
    );
    expect(res.statusCode).toBe(204);
    expect(await dumpStorage(h.storage)).toContain('temp{room="a"} 1000=20.5 2000=21');
    expect(h.storage.metadata('temp').get('temp')).toEqual([{ type: 'gauge', help: 'Temperature.', unit: 'celsius' }]);
    const text = await h.metrics.registry.getSingleMetricAsString('watchkeeper_ingest_samples_total');
    expect(text).toMatch(/watchkeeper_ingest_samples_total\{protocol="remote_write"\} [1-9]/);
  });

  it('keeps valid samples and answers 400 with counts for out-of-order ones', async () => {
    const res = await post(
      snappyWriteRequest({
        timeseries: [
          { labels: [{ name: '__name__', value: 'seed' }], samples: [{ value: 2, timestamp: 500 }] },
          { labels: [{ name: '__name__', value: 'fresh' }], samples: [{ value: 7, timestamp: 3000 }] },
        ],
      }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe(
      'remote write: 1 samples accepted, 1 samples rejected (out_of_order: 1); first error: out of order sample for series {__name__="seed"} at timestamp 500',
    );
    expect(await dumpStorage(h.storage)).toContain('fresh 3000=7');
  });

  const malformed: [string, () => Promise<{ statusCode: number; body: string }>, number, RegExp][] = [
    ['empty body', () => post(Buffer.alloc(0)), 400, /empty request body/],
    ['random bytes', () => post(Buffer.from('8f1a2b3c4d5e6f70', 'hex')), 400, /invalid snappy block/],
    ['unsnappied protobuf', () => post(encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 1, timestamp: 1 }] }] })), 400, /invalid snappy block|remote write:/],
    ['snappy of random bytes', () => post(compressSync(Buffer.from('0a05ffffffff', 'hex'))), 400, /remote write: .* at byte \d+/],
    [
      'a snappy bomb declaring 1 GB',
      () => post(Buffer.concat([Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04]), Buffer.alloc(16)])),
      413,
      /declares 1073741824 uncompressed bytes, more than the limit of 262144/,
    ],
    ['an oversized body', () => post(Buffer.alloc(65 * 1024, 1)), 413, /larger than the limit/],
    ['truncated protobuf', () => post(compressSync(encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 1, timestamp: 1 }] }] }).subarray(0, 12))), 400, /remote write: truncated/],
    ['a JSON content type', () => post('{}', { ...HEADERS, 'content-type': 'application/json' }), 415, /expected Content-Type application\/x-protobuf/],
    ['gzip encoding', () => post(Buffer.from('x'), { ...HEADERS, 'content-encoding': 'gzip' }), 415, /Content-Encoding "gzip" is not supported/],
    [
      'remote write 2.0',
      () => post(Buffer.from('x'), { ...HEADERS, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'x-prometheus-remote-write-version': '2.0.0' }),
      415,
      /"io.prometheus.write.v2.Request" is not supported/,
    ],
    [
      'a remote write 2.0 version header',
      () => post(snappyWriteRequest({ timeseries: [] }), { ...HEADERS, 'x-prometheus-remote-write-version': '2.0.0' }),
      415,
      /protocol version 2.0.0 is not supported/,
    ],
    [
      'duplicate label names',
      () => post(snappyWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'd' }, { name: 'a', value: '1' }, { name: 'a', value: '2' }], samples: [{ value: 1, timestamp: 1 }] }] })),
      400,
      /duplicate label name "a"/,
    ],
    [
      'an empty label name',
      () => post(snappyWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'd' }, { name: '', value: '2' }], samples: [{ value: 1, timestamp: 1 }] }] })),
      400,
      /empty label name/,
    ],
    [
      'a series without a metric name',
      () => post(snappyWriteRequest({ timeseries: [{ labels: [{ name: 'job', value: 'x' }], samples: [{ value: 1, timestamp: 1 }] }] })),
      400,
      /missing metric name/,
    ],
    [
      'a timestamp beyond 2^53',
      () => post(snappyWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'late' }], samples: [{ value: 1, timestamp: '9223372036854775807' as unknown as number }] }] })),
      400,
      /sample timestamp .* is out of range/,
    ],
    [
      'a sample more than 10 minutes ahead of the clock',
      () => post(snappyWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'future' }], samples: [{ value: 1, timestamp: NOW + 600_001 }] }] })),
      400,
      /out_of_bounds: 1\); first error: sample timestamp 1600001 is too far in the future for series \{__name__="future"\}/,
    ],
    [
      'a native histogram',
      () => post(snappyWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'nh' }], histograms: [{ count_int: 1, sum: 1, schema: 0, timestamp: 1 }] }] })),
      400,
      /native histograms are not supported yet/,
    ],
  ];
  for (const [name, send, status, message] of malformed) {
    it(`answers ${status} to ${name} and stores nothing`, async () => {
      const before = await dumpStorage(h.storage);
      const res = await send();
      expect(res.statusCode).toBe(status);
      expect(JSON.parse(res.body).error).toMatch(message);
      expect(await dumpStorage(h.storage)).toEqual(before);
    });
  }

  it('answers 204 or 400, never 5xx, to randomly mutated requests', async () => {
    const valid = encodeWriteRequest({
      timeseries: [
        { labels: [{ name: '__name__', value: 'fuzz' }, { name: 'job', value: 'j' }], samples: [{ value: 1.5, timestamp: 10_000 }, { value: 2, timestamp: 11_000 }] },
        { labels: [{ name: '__name__', value: 'fuzz2' }], samples: [{ value: 3, timestamp: 10_000 }], exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 10_000 }] },
      ],
      metadata: [{ type: 1, metric_family_name: 'fuzz', help: 'h', unit: '' }],
    });
    let seed = 77;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const codes = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const mutated = Buffer.from(valid);
      for (let k = 0, n = 1 + Math.floor(rand() * 4); k < n; k++) mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
      const res = await post(compressSync(mutated));
      codes.add(res.statusCode);
      expect([204, 400], res.body).toContain(res.statusCode);
    }
    expect(codes.has(400)).toBe(true);
  });

  it('answers 429 with Retry-After when the in-flight budget is exhausted', async () => {
    const h2 = createIngestHarness();
    // Commits that take a while (as a WAL fsync does), so the three requests overlap.
    const slowCommits: Appendable = {
      appender: () => {
        const a = h2.storage.appender();
        return {
          append: (ref, labels, t, v) => a.append(ref, labels, t, v),
          updateMetadata: (name, m) => a.updateMetadata(name, m),
          commit: async () => {
            await new Promise((resolve) => setTimeout(resolve, 50));
            await a.commit();
          },
          rollback: () => a.rollback(),
        };
      },
    };
    registerRemoteWriteRoutes(h2.app, { appendable: slowCommits, logger: h2.logger, registry: h2.metrics.registry, maxInFlightBytes: 1 });
    const body = snappyWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 1, timestamp: 1 }] }] });
    const results = await Promise.all([1, 2, 3].map(() => h2.app.inject({ method: 'POST', url: '/api/v1/write', headers: HEADERS, payload: body })));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes[0]).toBe(204);
    const refused = results.find((r) => r.statusCode === 429);
    expect(refused?.headers['retry-after']).toBe('1');
    await h2.close();
  });
});
