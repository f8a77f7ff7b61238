import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { AccessControl, createToken } from '../../api/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHarness, dumpStorage, type IngestHarness } from '../../../test/support/ingest-harness.js';
import { encodeMetricsRequest, ExportMetricsServiceResponse } from '../../../test/support/otlp-root.js';
import { startOtlpGrpcServer, type OtlpGrpcServerHandle } from './grpc-server.js';

const METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

let h: IngestHarness;
let server: OtlpGrpcServerHandle;
let client: Client;

beforeAll(async () => {
  h = createIngestHarness();
  server = await startOtlpGrpcServer({ listen: '127.0.0.1:0', appendable: h.storage, logger: h.logger, registry: h.metrics.registry, maxReceiveMessageBytes: 64 * 1024 });
  client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await h?.close();
});

function call(body: Buffer): Promise<{ err: ServiceError | null; res: Buffer | undefined }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(METHOD, (b: Buffer) => b, (b: Buffer) => b, body, (err, res) => resolve({ err, res }));
  });
}

describe('OTLP/gRPC MetricsService/Export', () => {
  it('answers a partial success for delta sums and stores the rest', async () => {
    const body = encodeMetricsRequest({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: '1000000000', asInt: 1 }] } },
                { name: 'g', gauge: { dataPoints: [{ timeUnixNano: '1000000000', asDouble: 2 }] } },
              ],
            },
          ],
        },
      ],
    });
    const { err, res } = await call(body);
    expect(err).toBeNull();
    const decoded = ExportMetricsServiceResponse.toObject(ExportMetricsServiceResponse.decode(res!), { longs: String });
    expect(decoded).toEqual({ partialSuccess: { rejectedDataPoints: '1', errorMessage: expect.stringMatching(/metric "d": delta temporality is not supported/) } });
    expect(await dumpStorage(h.storage)).toEqual(['g 1000=2']);
  });

  const malformed: [string, Buffer, number, RegExp][] = [
    ['truncated protobuf', encodeMetricsRequest({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{ asDouble: 1 }] } }] }] }] }).subarray(0, 9), status.INVALID_ARGUMENT, /otlp metrics: truncated.* at byte \d+/],
    ['random bytes', Buffer.from('ffffffffffffffffffffff', 'hex'), status.INVALID_ARGUMENT, /otlp metrics: /],
    ['an oversized message', Buffer.alloc(100 * 1024), status.RESOURCE_EXHAUSTED, /larger than max/i],
  ];
  for (const [name, body, code, message] of malformed) {
    it(`refuses ${name} and stores nothing`, async () => {
      const before = await dumpStorage(h.storage);
      const { err } = await call(body);
      expect(err?.code).toBe(code);
      expect(err?.details).toMatch(message);
      expect(await dumpStorage(h.storage)).toEqual(before);
    });
  }
});

describe('OTLP/gRPC with access tokens', () => {
  it('requires a token with the ingest scope in the authorization metadata', async () => {
    const ingest = createToken('collector', ['ingest']);
    const reader = createToken('grafana', ['read']);
    const secured = await startOtlpGrpcServer({
      listen: '127.0.0.1:0',
      appendable: h.storage,
      logger: h.logger,
      registry: h.metrics.registry,
      accessControl: () => new AccessControl([ingest.entry, reader.entry]),
    });
    const securedClient = new Client(`127.0.0.1:${secured.port}`, credentials.createInsecure());
    const send = (authorization: string | null) =>
      new Promise<ServiceError | null>((resolve) => {
        const md = new Metadata();
        if (authorization !== null) md.set('authorization', authorization);
        securedClient.makeUnaryRequest(METHOD, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, (err) => resolve(err));
      });
    try {
      expect((await send(null))?.code).toBe(status.UNAUTHENTICATED);
      expect((await send('Bearer wrong'))?.code).toBe(status.UNAUTHENTICATED);
      const denied = await send(`Bearer ${reader.token}`);
      expect(denied?.code).toBe(status.PERMISSION_DENIED);
      expect(denied?.details).toMatch(/lacks the "ingest" scope/);
      expect(await send(`Bearer ${ingest.token}`)).toBeNull();
    } finally {
      securedClient.close();
      await secured.close();
    }
  });
});
