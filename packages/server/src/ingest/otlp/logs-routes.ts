/**
 * OTLP/HTTP logs: `POST /v1/logs` with protobuf or JSON bodies, optionally gzip-compressed, on the
 * main app (9700) and the OTLP/HTTP app (4318) alike. Answers 200 with OTLP partial success once
 * the records are durable, 400 (google.rpc.Status with the reason) for malformed bodies and 429
 * with Retry-After when the in-flight budget or the store's write queue is full.
 */
import type { FastifyInstance } from 'fastify';
import { OtlpLogsReceiver, type OtlpLogsDeps } from './otlp-logs-receiver.js';
import { registerOtlpExportRoute, type OtlpExportRouteLimits } from './otlp-export-route.js';

export interface OtlpLogsRouteOptions extends OtlpLogsDeps, OtlpExportRouteLimits {
  /** The receiver to share with the gRPC service; one is created from the deps when absent. */
  readonly receiver?: OtlpLogsReceiver;
}

/** Registers `POST /v1/logs` (scope `ingest`). */
export function registerOtlpLogsRoutes(app: FastifyInstance, opts: OtlpLogsRouteOptions): void {
  const receiver = opts.receiver ?? new OtlpLogsReceiver(opts);
  registerOtlpExportRoute(
    app,
    {
      path: '/v1/logs',
      signal: 'logs',
      rejectedField: 'rejectedLogRecords',
      decodeProto: (raw) => receiver.decodeProto(raw),
      decodeJson: (json) => receiver.decodeJson(json),
      export: (decoded) => receiver.export(decoded, 'otlp_http'),
      countRequest: (protocol, code) => receiver.countRequest(protocol, code),
    },
    opts,
  );
}
