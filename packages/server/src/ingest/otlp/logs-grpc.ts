/**
 * opentelemetry.proto.collector.logs.v1.LogsService/Export for the OTLP/gRPC server
 * (grpc-server.ts), passed to it through its `services` option. Malformed requests answer
 * INVALID_ARGUMENT with the decoder's reason; a full write queue or in-flight budget answers
 * UNAVAILABLE, which OTLP exporters retry with backoff.
 */
import type { Logger } from 'pino';
import { InFlightBudget } from '../in-flight-budget.js';
import { otlpExportService, type OtlpGrpcService } from './grpc-server.js';
import type { DecodedLogs, OtlpLogsReceiver } from './otlp-logs-receiver.js';

export interface OtlpLogsGrpcOptions {
  readonly receiver: OtlpLogsReceiver;
  readonly logger: Logger;
  /** Bytes of log requests processed at once; beyond it UNAVAILABLE. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
}

/** The LogsService service to add to the OTLP/gRPC server's `services`. */
export function otlpLogsGrpcService(opts: OtlpLogsGrpcOptions): OtlpGrpcService {
  const { receiver } = opts;
  return otlpExportService<DecodedLogs>({
    servicePath: 'opentelemetry.proto.collector.logs.v1.LogsService',
    signal: 'logs',
    decode: (buf) => receiver.decodeProto(buf),
    receiver,
    budget: new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024),
    logger: opts.logger,
  });
}
