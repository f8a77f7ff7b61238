/**
 * The OTLP/HTTP export endpoint, shared by metrics, logs and traces: content type and encoding
 * checks, gzip with a bound, an in-flight byte budget (429 beyond it), decoding errors as 400,
 * store overload as 429/503, and responses in the request's encoding (protobuf or JSON) as the
 * OTLP specification asks. Each signal supplies only its decoders and its export step.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { StoreClosedError, StoreOverloadedError } from '../../storage/signal-store/index.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { DecodeError } from '../protobuf/proto-reader.js';
import { OtlpHttpError, decompress, requestEncoding, type Encoding } from './otlp-http-routes.js';
import { JsonShapeError } from './otlp-json.js';
import {
  GRPC_INVALID_ARGUMENT,
  GRPC_RESOURCE_EXHAUSTED,
  GRPC_UNAVAILABLE,
  encodeExportResponse,
  encodeStatus,
  exportResponseJson,
  type PartialSuccess,
} from './otlp-responses.js';

/** What one signal contributes to its export endpoint. */
export interface OtlpSignalEndpoint<T> {
  readonly path: '/v1/metrics' | '/v1/logs' | '/v1/traces';
  /** `metrics`, `logs` or `traces`, for messages. */
  readonly signal: string;
  /** The JSON name of the rejected count in the partial-success response, e.g. `rejectedSpans`. */
  readonly rejectedField: string;
  /** Decoders throw DecodeError / JsonShapeError on malformed input. */
  decodeProto(raw: Buffer): T;
  decodeJson(json: unknown): T;
  /** Stores the request; may throw the signal store's overload or closed errors. */
  export(request: T): Promise<PartialSuccess>;
  countRequest(protocol: 'otlp_http', code: string): void;
}

export interface OtlpExportRouteLimits {
  /** Largest decompressed (gzip) body accepted; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Bytes all requests of this endpoint may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

const TOO_BUSY = 'otlp: too many bytes in flight; retry later';

/** Registers `POST <path>` (scope `ingest`) in its own plugin scope, which reads JSON bodies raw (they may be gzipped). */
export function registerOtlpExportRoute<T>(app: FastifyInstance, endpoint: OtlpSignalEndpoint<T>, limits: OtlpExportRouteLimits): void {
  const maxDecompressed = limits.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const budget = new InFlightBudget(limits.maxInFlightBytes ?? 256 * 1024 * 1024);

  const decode = (raw: Buffer, encoding: Encoding): T => {
    try {
      if (encoding === 'protobuf') return endpoint.decodeProto(raw);
      if (raw.length === 0) throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, `otlp ${endpoint.signal} JSON: empty request body`);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, `otlp ${endpoint.signal} JSON: invalid JSON: ${(err as Error).message}`);
      }
      return endpoint.decodeJson(json);
    } catch (err) {
      if (err instanceof DecodeError || err instanceof JsonShapeError) throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, err.message);
      throw err;
    }
  };

  const storeError = (err: unknown): unknown => {
    if (err instanceof StoreOverloadedError) return new OtlpHttpError(429, GRPC_RESOURCE_EXHAUSTED, `otlp: ${err.message}`);
    if (err instanceof StoreClosedError) return new OtlpHttpError(503, GRPC_UNAVAILABLE, `otlp: the ${endpoint.signal} store is shutting down; retry later`);
    return err;
  };

  // Decodes and stores; throws decoding errors synchronously. Not async, and so the decoded request
  // is referenced by no suspended function while its write is pending: the export step may let
  // go of it early (the trace receiver does, so span objects die young).
  const decodeAndStore = (raw: Buffer, encoding: Encoding): Promise<PartialSuccess> => {
    const request = decode(raw, encoding);
    let exported: Promise<PartialSuccess>;
    try {
      exported = endpoint.export(request);
    } catch (err) {
      return Promise.reject(storeError(err) as Error);
    }
    return exported.catch((err: unknown) => {
      throw storeError(err);
    });
  };

  const fail = (reply: FastifyReply, encoding: Encoding | null, err: OtlpHttpError): FastifyReply => {
    endpoint.countRequest('otlp_http', String(err.status));
    if (err.status === 429 || err.status === 503) reply.header('Retry-After', '1');
    if (encoding === 'json') return reply.code(err.status).send({ code: err.grpcCode, message: err.message });
    return reply.code(err.status).type('application/x-protobuf').send(encodeStatus(err.grpcCode, err.message));
  };

  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    scope.post(endpoint.path, { config: { scope: 'ingest' } }, async (req, reply) => {
      let encoding: Encoding | null = null;
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let reserved = 0;
      try {
        encoding = requestEncoding(req);
        if (!budget.tryAcquire(body.length)) throw new OtlpHttpError(429, GRPC_RESOURCE_EXHAUSTED, TOO_BUSY);
        reserved = body.length;
        const raw = await decompress(req, body, maxDecompressed);
        if (raw !== body) {
          if (!budget.tryAcquire(raw.length)) throw new OtlpHttpError(429, GRPC_RESOURCE_EXHAUSTED, TOO_BUSY);
          reserved += raw.length;
        }
        const outcome = await decodeAndStore(raw, encoding);
        endpoint.countRequest('otlp_http', '200');
        if (encoding === 'json') return reply.code(200).send(exportResponseJson(outcome, endpoint.rejectedField));
        return reply.code(200).type('application/x-protobuf').send(encodeExportResponse(outcome));
      } catch (err) {
        if (err instanceof OtlpHttpError) return fail(reply, encoding, err);
        endpoint.countRequest('otlp_http', '500');
        throw err;
      } finally {
        budget.release(reserved);
      }
    });
  });
}
