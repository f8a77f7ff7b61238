/**
 * OTLP/HTTP traces: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip-compressed,
 * on the main app (9700) and the OTLP/HTTP app (4318) alike. Answers 200 with OTLP partial success
 * once the spans are durable, 400 (google.rpc.Status with the reason) for malformed bodies and
 * 429 with Retry-After when the in-flight budget or the store's write queue is full.
 */
import type { FastifyInstance } from 'fastify';
import { OtlpTracesReceiver, type OtlpTracesDeps } from './otlp-traces-receiver.js';
import { registerOtlpExportRoute, type OtlpExportRouteLimits } from './otlp-export-route.js';
import { decodeTracesRequestJson } from './traces-json-decoder.js';
import { decodeTracesRequestProto } from './traces-proto-decoder.js';

export interface OtlpTracesRouteOptions extends OtlpTracesDeps, OtlpExportRouteLimits {
  /** The receiver to share with the gRPC service; one is created from the deps when absent. */
  readonly receiver?: OtlpTracesReceiver;
}

/** Registers `POST /v1/traces` (scope `ingest`). */
export function registerOtlpTracesRoutes(app: FastifyInstance, opts: OtlpTracesRouteOptions): void {
  const receiver = opts.receiver ?? new OtlpTracesReceiver(opts);
  registerOtlpExportRoute(
    app,
    {
      path: '/v1/traces',
      signal: 'traces',
      rejectedField: 'rejectedSpans',
      decodeProto: (raw) => decodeTracesRequestProto(raw, receiver.decodeOptions),
      decodeJson: (json) => decodeTracesRequestJson(json, receiver.decodeOptions),
      export: (decoded) => receiver.export(decoded, 'otlp_http'),
      countRequest: (protocol, code) => receiver.countRequest(protocol, code),
    },
    opts,
  );
}
