/**
 * opentelemetry.proto.collector.trace.v1.TraceService/Export for the OTLP/gRPC server
 * (grpc-server.ts), passed to it through its `services` option. Malformed requests answer
 * INVALID_ARGUMENT with the decoder's reason; a full write queue or in-flight budget answers
 * UNAVAILABLE, which OTLP exporters retry with backoff.
 */
import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { InFlightBudget } from '../in-flight-budget.js';
import { StoreClosedError, StoreOverloadedError } from '../../storage/signal-store/index.js';
import { otlpExportMethod, type DecodedRequest, type OtlpGrpcService } from './grpc-server.js';
import type { PartialSuccess } from './otlp-responses.js';
import type { OtlpTracesReceiver } from './otlp-traces-receiver.js';
import type { DecodedTraces } from './traces-model.js';
import { decodeTracesRequestProto } from './traces-proto-decoder.js';

export interface OtlpTracesGrpcOptions {
  readonly receiver: OtlpTracesReceiver;
  readonly logger: Logger;
  /** Bytes of trace requests processed at once; beyond it UNAVAILABLE. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

/** The TraceService to add to the OTLP/gRPC server's `services`. */
export function otlpTracesGrpcService(opts: OtlpTracesGrpcOptions): OtlpGrpcService {
  const { receiver } = opts;
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);
  const log = opts.logger.child({ component: 'otlp-grpc-traces' });
  return {
    definition: otlpExportMethod('opentelemetry.proto.collector.trace.v1.TraceService', (buf) => decodeTracesRequestProto(buf, receiver.decodeOptions)),
    implementation: {
      Export: (call: ServerUnaryCall<DecodedRequest<DecodedTraces>, PartialSuccess>, callback: sendUnaryData<PartialSuccess>) => {
        const req = call.request;
        if (!req.ok) {
          receiver.countRequest('otlp_grpc', 'InvalidArgument');
          callback({ code: status.INVALID_ARGUMENT, details: req.error });
          return;
        }
        if (!budget.tryAcquire(req.bytes)) {
          receiver.countRequest('otlp_grpc', 'Unavailable');
          callback({ code: status.UNAVAILABLE, details: 'otlp: too many bytes in flight; retry later' });
          return;
        }
        receiver
          .export(req.value, 'otlp_grpc')
          .then(
            (outcome) => {
              receiver.countRequest('otlp_grpc', 'OK');
              callback(null, outcome);
            },
            (err: unknown) => {
              receiver.countRequest('otlp_grpc', 'Unavailable');
              if (err instanceof StoreOverloadedError || err instanceof StoreClosedError) {
                callback({ code: status.UNAVAILABLE, details: `otlp: ${err.message}` });
                return;
              }
              log.error({ err }, 'OTLP/gRPC trace export failed');
              callback({ code: status.UNAVAILABLE, details: `otlp: storing the spans failed: ${(err as Error).message}` });
            },
          )
          .finally(() => budget.release(req.bytes));
      },
    },
  };
}
