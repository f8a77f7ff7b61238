/**
 * OTLP/gRPC server (port 4317 by default) on @grpc/grpc-js, without .proto files: each service is a
 * hand-made ServiceDefinition whose request deserializer is our protobuf decoder. Metrics are
 * served now; logs and traces plug in later as further `OtlpGrpcService` entries.
 */
import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AccessControl } from '../../api/auth.js';
import type { Appendable } from '../../storage/interfaces.js';
import { DecodeError } from '../protobuf/proto-reader.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { StoreClosedError, StoreOverloadedError } from '../../storage/signal-store/index.js';
import type { MetricsRequest } from './metrics-model.js';
import { decodeMetricsRequestProto } from './metrics-proto-decoder.js';
import { OtlpMetricsReceiver } from './otlp-metrics-receiver.js';
import { encodeExportResponse, type PartialSuccess } from './otlp-responses.js';

/** One gRPC service: its definition and handlers, added to the server as is. */
export interface OtlpGrpcService {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

/** A request as the deserializer hands it to a handler: decoded, or the reason it could not be. */
export type DecodedRequest<T> = { readonly ok: true; readonly value: T; readonly bytes: number } | { readonly ok: false; readonly error: string };

/** Builds the unary `Export` method definition shared by the OTLP collector services. */
export function otlpExportMethod<T>(servicePath: string, decode: (buf: Buffer) => T): ServiceDefinition {
  return {
    Export: {
      path: `/${servicePath}/Export`,
      requestStream: false,
      responseStream: false,
      // Decode errors are carried to the handler so it can answer INVALID_ARGUMENT with the reason.
      requestDeserialize: (buf: Buffer): DecodedRequest<T> => {
        try {
          return { ok: true, value: decode(buf), bytes: buf.length };
        } catch (err) {
          if (err instanceof DecodeError) return { ok: false, error: err.message };
          throw err;
        }
      },
      requestSerialize: () => {
        throw new Error('the OTLP server never serializes requests');
      },
      responseSerialize: (p: PartialSuccess) => encodeExportResponse(p),
      responseDeserialize: () => {
        throw new Error('the OTLP server never deserializes responses');
      },
    },
  };
}

/** The receiver side of one OTLP signal, as its gRPC service sees it. */
export interface OtlpExportReceiver<T> {
  export(request: T, protocol: 'otlp_grpc'): Promise<PartialSuccess>;
  countRequest(protocol: 'otlp_grpc', code: string): void;
}

/**
 * An OTLP collector service (`<servicePath>/Export`) for one signal. Malformed requests answer
 * INVALID_ARGUMENT with the decoder's reason; a full in-flight budget, a full or closing store, or a
 * failed write answer UNAVAILABLE, which OTLP exporters retry with backoff.
 */
export function otlpExportService<T>(opts: {
  readonly servicePath: string;
  /** `metrics`, `logs` or `traces`, for messages. */
  readonly signal: string;
  readonly decode: (buf: Buffer) => T;
  readonly receiver: OtlpExportReceiver<T>;
  readonly budget: InFlightBudget;
  readonly logger: Logger;
}): OtlpGrpcService {
  const { receiver, budget } = opts;
  return {
    definition: otlpExportMethod(opts.servicePath, opts.decode),
    implementation: {
      Export: (call: ServerUnaryCall<DecodedRequest<T>, PartialSuccess>, callback: sendUnaryData<PartialSuccess>) => {
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
              opts.logger.error({ err, signal: opts.signal }, 'OTLP/gRPC export failed');
              callback({ code: status.UNAVAILABLE, details: `otlp: storing the ${opts.signal} failed: ${(err as Error).message}` });
            },
          )
          .finally(() => budget.release(req.bytes));
      },
    },
  };
}

/** Wraps every unary handler so it first checks the caller's token for the `ingest` scope. */
function withIngestScope(implementation: UntypedServiceImplementation, accessControl: () => AccessControl): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const unary = handler as (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
    wrapped[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const authorization = call.metadata.get('authorization')[0];
      const result = accessControl().check('ingest', typeof authorization === 'string' ? authorization : undefined);
      if (!result.ok) {
        callback({ code: result.status === 401 ? status.UNAUTHENTICATED : status.PERMISSION_DENIED, details: result.message });
        return;
      }
      unary(call, callback);
    };
  }
  return wrapped;
}

export interface OtlpGrpcServerOptions {
  /** host:port to listen on, e.g. "127.0.0.1:4317" (port 0 picks a free port). */
  readonly listen: string;
  readonly appendable: Appendable;
  readonly logger: Logger;
  /** Registry for the watchkeeper_ingest_* metrics. */
  readonly registry: Registry;
  /** Further services (OTLP logs, traces) served on the same port. */
  readonly services?: readonly OtlpGrpcService[];
  /** Largest request message accepted (after gRPC decompression). Default 64 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Bytes of requests that may be processed at once; beyond it RESOURCE_EXHAUSTED. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
  /**
   * Checked per call (so reloads apply) against the `authorization` metadata ("Bearer <token>" or
   * basic auth) with the `ingest` scope; every call is allowed when omitted.
   */
  readonly accessControl?: () => AccessControl;
}

export interface OtlpGrpcServerHandle {
  readonly port: number;
  /** Stops accepting calls, lets running calls finish (up to 5 s), then closes. */
  close(): Promise<void>;
}

/** Starts the OTLP/gRPC server with the metrics service (and any extra services). */
export async function startOtlpGrpcServer(opts: OtlpGrpcServerOptions): Promise<OtlpGrpcServerHandle> {
  const logger = opts.logger.child({ component: 'otlp-grpc' });
  const server = new Server({
    'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? 64 * 1024 * 1024,
  });
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);
  const receiver = new OtlpMetricsReceiver({ appendable: opts.appendable, logger: opts.logger, registry: opts.registry });
  const metricsService = otlpExportService<MetricsRequest>({
    servicePath: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
    signal: 'metrics',
    decode: decodeMetricsRequestProto,
    receiver,
    budget,
    logger,
  });
  for (const service of [metricsService, ...(opts.services ?? [])]) {
    const implementation = opts.accessControl ? withIngestScope(service.implementation, opts.accessControl) : service.implementation;
    server.addService(service.definition, implementation);
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, ServerCredentials.createInsecure(), (err, boundPort) => (err ? reject(err) : resolve(boundPort)));
  });
  logger.info({ listen: opts.listen, port }, 'OTLP/gRPC listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 5000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
