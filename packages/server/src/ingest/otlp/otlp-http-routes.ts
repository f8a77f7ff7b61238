/**
 * OTLP/HTTP metrics: `POST /v1/metrics` with protobuf or JSON bodies, optionally gzip-compressed.
 * Registered on the main app (9700) and on the OTLP/HTTP app (4318) alike.
 *
 * Delta temporality is rejected with a partial-success message rather than converted: converting
 * needs per-series running totals in the receiving process, which are lost on restart (a false
 * counter reset) and wrong once several stateless replicas share the load; exporters can ask for
 * cumulative temporality instead, which is the SDK default.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DecodeError } from '../protobuf/proto-reader.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { decodeMetricsRequestJson } from './metrics-json-decoder.js';
import type { MetricsRequest } from './metrics-model.js';
import { decodeMetricsRequestProto } from './metrics-proto-decoder.js';
import { OtlpMetricsReceiver, type OtlpMetricsDeps } from './otlp-metrics-receiver.js';
import { JsonShapeError } from './otlp-json.js';
import {
  GRPC_INVALID_ARGUMENT,
  GRPC_RESOURCE_EXHAUSTED,
  GRPC_UNIMPLEMENTED,
  encodeExportResponse,
  encodeStatus,
  exportResponseJson,
} from './otlp-responses.js';

const gunzipAsync = promisify(gunzip);

export interface OtlpHttpRouteOptions extends OtlpMetricsDeps {
  /** Largest decompressed (gzip) body accepted; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Bytes all OTLP/HTTP requests of this app may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

/** An OTLP/HTTP failure, answered with a google.rpc.Status body in the request's encoding. */
export class OtlpHttpError extends Error {
  constructor(
    readonly status: number,
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

export type Encoding = 'protobuf' | 'json';

/** Registers `POST /v1/metrics` (scope `ingest`) in its own plugin scope, which reads JSON bodies raw (they may be gzipped). */
export function registerOtlpMetricsRoutes(app: FastifyInstance, opts: OtlpHttpRouteOptions): void {
  const receiver = new OtlpMetricsReceiver(opts);
  const maxDecompressed = opts.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);

  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    scope.post('/v1/metrics', { config: { scope: 'ingest' } }, async (req, reply) => {
      let encoding: Encoding | null = null;
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let reserved = 0;
      try {
        encoding = requestEncoding(req);
        if (!budget.tryAcquire(body.length)) throw new OtlpHttpError(429, GRPC_RESOURCE_EXHAUSTED, 'otlp: too many bytes in flight; retry later');
        reserved = body.length;
        const raw = await decompress(req, body, maxDecompressed);
        if (raw !== body) {
          if (!budget.tryAcquire(raw.length)) throw new OtlpHttpError(429, GRPC_RESOURCE_EXHAUSTED, 'otlp: too many bytes in flight; retry later');
          reserved += raw.length;
        }
        const request = decode(raw, encoding);
        const outcome = await receiver.export(request, 'otlp_http');
        receiver.countRequest('otlp_http', '200');
        if (encoding === 'json') return reply.code(200).send(exportResponseJson(outcome, 'rejectedDataPoints'));
        return reply.code(200).type('application/x-protobuf').send(encodeExportResponse(outcome));
      } catch (err) {
        if (err instanceof OtlpHttpError) return fail(reply, encoding, err);
        receiver.countRequest('otlp_http', '500');
        throw err;
      } finally {
        budget.release(reserved);
      }
    });
  });

  function fail(reply: FastifyReply, encoding: Encoding | null, err: OtlpHttpError): FastifyReply {
    receiver.countRequest('otlp_http', String(err.status));
    if (err.status === 429) reply.header('Retry-After', '1');
    if (encoding === 'json') return reply.code(err.status).send({ code: err.grpcCode, message: err.message });
    return reply.code(err.status).type('application/x-protobuf').send(encodeStatus(err.grpcCode, err.message));
  }
}

/** The body encoding named by Content-Type; 415 for anything else. Shared with the traces routes. */
export function requestEncoding(req: FastifyRequest): Encoding {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/x-protobuf' || contentType === 'application/protobuf') return 'protobuf';
  if (contentType === 'application/json') return 'json';
  throw new OtlpHttpError(415, GRPC_UNIMPLEMENTED, `otlp: unsupported Content-Type "${req.headers['content-type'] ?? ''}"; use application/x-protobuf or application/json`);
}

/** The body after Content-Encoding (gzip or none), bounded by `maxBytes`. Shared with the traces routes. */
export async function decompress(req: FastifyRequest, body: Buffer, maxBytes: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  if (encoding !== 'gzip') throw new OtlpHttpError(415, GRPC_UNIMPLEMENTED, `otlp: unsupported Content-Encoding "${encoding}"; use gzip or none`);
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new OtlpHttpError(413, GRPC_INVALID_ARGUMENT, `otlp: gzip body inflates beyond the limit of ${maxBytes} bytes`);
    }
    throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, `otlp: invalid gzip body: ${(err as Error).message}`);
  }
}

function decode(raw: Buffer, encoding: Encoding): MetricsRequest {
  try {
    if (encoding === 'protobuf') return decodeMetricsRequestProto(raw);
    if (raw.length === 0) throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, 'otlp metrics JSON: empty request body');
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, `otlp metrics JSON: invalid JSON: ${(err as Error).message}`);
    }
    return decodeMetricsRequestJson(json);
  } catch (err) {
    if (err instanceof DecodeError || err instanceof JsonShapeError) throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, err.message);
    throw err;
  }
}
