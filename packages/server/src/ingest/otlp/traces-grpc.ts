/**
 * opentelemetry.proto.collector.trace.v1.TraceService/Export for the OTLP/gRPC server
 * (grpc-server.ts), passed to it through its `services` option. Malformed requests answer
 * INVALID_ARGUMENT with the decoder's reason; a full write queue or in-flight budget answers
 * UNAVAILABLE, which OTLP exporters retry with backoff.
 */
import type { Logger } from 'pino';
import { InFlightBudget } from '../in-flight-budget.js';
import { otlpExportService, type OtlpGrpcService } from './grpc-server.js';
import type { OtlpTracesReceiver } from './otlp-traces-receiver.js';
import type { DecodedTraces } from './traces-model.js';
import { decodeTracesRequestProto } from './traces-proto-decoder.js';

export interface OtlpTracesGrpcOptions {
  readonly receiver: OtlpTracesReceiver;
  readonly logger: Logger;
  /** Bytes of trace requests processed at once; beyond it UNAVAILABLE. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

/** The TraceService service to add to the OTLP/gRPC server's `services`. */
export function otlpTracesGrpcService(opts: OtlpTracesGrpcOptions): OtlpGrpcService {
  const { receiver } = opts;
  return otlpExportService<DecodedTraces>({
    servicePath: 'opentelemetry.proto.collector.trace.v1.TraceService',
    signal: 'traces',
    decode: (buf) => decodeTracesRequestProto(buf, receiver.decodeOptions),
    receiver,
    budget: new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024),
    logger: opts.logger,
  });
}
