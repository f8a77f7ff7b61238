/**
 * OTLP/HTTP traces: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip-compressed,
 * on the main app (9700) and the OTLP/HTTP app (4318) alike. Answers 200 with OTLP partial success
 * once the spans are durable, 400 (google.rpc.Status with the reason) for malformed bodies and
 * 429 with Retry-After when the in-flight budget or the store's write queue is full.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DecodeError } from '../protobuf/proto-reader.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { StoreClosedError, StoreOverloadedError } from '../../storage/signal-store/index.js';
import { OtlpHttpError, decompress, requestEncoding, type Encoding } from './otlp-http-routes.js';
import { JsonShapeError } from './otlp-json.js';
import {
  GRPC_INVALID_ARGUMENT,
  GRPC_RESOURCE_EXHAUSTED,
  GRPC_UNAVAILABLE,
  encodeExportResponse,
  encodeStatus,
  exportResponseJson,
} from './otlp-responses.js';
import { OtlpTracesReceiver, type OtlpTracesDeps } from './otlp-traces-receiver.js';
import { decodeTracesRequestJson } from './traces-json-decoder.js';
import type { DecodedTraces, TraceDecodeOptions } from './traces-model.js';
import { decodeTracesRequestProto } from './traces-proto-decoder.js';

export interface OtlpTracesRouteOptions extends OtlpTracesDeps {
  /** The receiver to share with the gRPC service; one is created from the deps when absent. */
  readonly receiver?: OtlpTracesReceiver;
  /** Largest decompressed (gzip) body accepted; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Bytes all trace requests of this app may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

/** Registers `POST /v1/traces` (scope `ingest`) in its own plugin scope, which reads JSON bodies raw (they may be gzipped). */
export function registerOtlpTracesRoutes(app: FastifyInstance, opts: OtlpTracesRouteOptions): void {
  const receiver = opts.receiver ?? new OtlpTracesReceiver(opts);
  const maxDecompressed = opts.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);

  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    scope.post('/v1/traces', { config: { scope: 'ingest' } }, async (req, reply) => {
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
        const decoded = decodeHttpBody(raw, encoding, receiver.decodeOptions);
        const outcome = await exportOrOverload(receiver, decoded);
        receiver.countRequest('otlp_http', '200');
        if (encoding === 'json') return reply.code(200).send(exportResponseJson(outcome, 'rejectedSpans'));
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
    if (err.status === 429 || err.status === 503) reply.header('Retry-After', '1');
    if (encoding === 'json') return reply.code(err.status).send({ code: err.grpcCode, message: err.message });
    return reply.code(err.status).type('application/x-protobuf').send(encodeStatus(err.grpcCode, err.message));
  }
}

async function exportOrOverload(receiver: OtlpTracesReceiver, decoded: DecodedTraces): Promise<{ rejected: number; message: string }> {
  try {
    return await receiver.export(decoded, 'otlp_http');
  } catch (err) {
    if (err instanceof StoreOverloadedError) throw new OtlpHttpError(429, GRPC_RESOURCE_EXHAUSTED, `otlp: ${err.message}`);
    if (err instanceof StoreClosedError) throw new OtlpHttpError(503, GRPC_UNAVAILABLE, 'otlp: the trace store is shutting down; retry later');
    throw err;
  }
}

/** Decodes a raw OTLP/HTTP trace body; malformed input becomes a 400 with the decoder's reason. */
function decodeHttpBody(raw: Buffer, encoding: Encoding, opts: TraceDecodeOptions): DecodedTraces {
  try {
    if (encoding === 'protobuf') return decodeTracesRequestProto(raw, opts);
    if (raw.length === 0) throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, 'otlp traces JSON: empty request body');
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, `otlp traces JSON: invalid JSON: ${(err as Error).message}`);
    }
    return decodeTracesRequestJson(json, opts);
  } catch (err) {
    if (err instanceof DecodeError || err instanceof JsonShapeError) throw new OtlpHttpError(400, GRPC_INVALID_ARGUMENT, err.message);
    throw err;
  }
}
