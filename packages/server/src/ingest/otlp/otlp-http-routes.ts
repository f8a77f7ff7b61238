/**
 * OTLP/HTTP metrics: `POST /v1/metrics` with protobuf or JSON bodies, optionally compressed (gzip,
 * deflate or br).
 * Registered on the main app (9700) and on the OTLP/HTTP app (4318) alike.
 *
 * Delta temporality is rejected with a partial-success message rather than converted: converting
 * needs per-series running totals in the receiving process, which are lost on restart (a false
 * counter reset) and wrong once several stateless replicas share the load; exporters can ask for
 * cumulative temporality instead, which is the SDK default.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BodyDecodeError, decodeBody } from '../decode-body.js';
import { decodeMetricsRequestJson } from './metrics-json-decoder.js';
import type { MetricsRequest } from './metrics-model.js';
import { decodeMetricsRequestProto } from './metrics-proto-decoder.js';
import { OtlpMetricsReceiver, type OtlpMetricsDeps } from './otlp-metrics-receiver.js';
import { registerOtlpExportRoute, type OtlpExportRouteLimits } from './otlp-export-route.js';
import { GRPC_INVALID_ARGUMENT, GRPC_UNIMPLEMENTED } from './otlp-responses.js';

export interface OtlpHttpRouteOptions extends OtlpMetricsDeps, OtlpExportRouteLimits {}

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

/** Registers `POST /v1/metrics` (scope `ingest`). */
export function registerOtlpMetricsRoutes(app: FastifyInstance, opts: OtlpHttpRouteOptions): void {
  const receiver = new OtlpMetricsReceiver(opts);
  registerOtlpExportRoute<MetricsRequest>(
    app,
    {
      path: '/v1/metrics',
      signal: 'metrics',
      rejectedField: 'rejectedDataPoints',
      decodeProto: decodeMetricsRequestProto,
      decodeJson: decodeMetricsRequestJson,
      export: (request) => receiver.export(request, 'otlp_http'),
      countRequest: (protocol, code) => receiver.countRequest(protocol, code),
    },
    opts,
  );
}

/** The body encoding named by Content-Type; 415 for anything else. Shared with the traces routes. */
export function requestEncoding(req: FastifyRequest): Encoding {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/x-protobuf' || contentType === 'application/protobuf') return 'protobuf';
  if (contentType === 'application/json') return 'json';
  throw new OtlpHttpError(415, GRPC_UNIMPLEMENTED, `otlp: unsupported Content-Type "${req.headers['content-type'] ?? ''}"; use application/x-protobuf or application/json`);
}

/** The body after Content-Encoding, bounded by `maxBytes`. Shared with the traces routes. */
export async function decompress(req: FastifyRequest, body: Buffer, maxBytes: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  try {
    return await decodeBody(body, typeof encoding === 'string' ? encoding : undefined, maxBytes);
  } catch (err) {
    if (err instanceof BodyDecodeError) throw new OtlpHttpError(err.status, err.status === 415 ? GRPC_UNIMPLEMENTED : GRPC_INVALID_ARGUMENT, `otlp: ${err.message}`);
    throw err;
  }
}
