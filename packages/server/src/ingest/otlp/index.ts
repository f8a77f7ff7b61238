/** OTLP ingestion: metrics over OTLP/HTTP (protobuf, JSON) and OTLP/gRPC, and the shared OTLP decoding. */
export { registerOtlpMetricsRoutes, type OtlpHttpRouteOptions } from './otlp-http-routes.js';
export {
  startOtlpGrpcServer,
  otlpExportMethod,
  type OtlpGrpcServerOptions,
  type OtlpGrpcServerHandle,
  type OtlpGrpcService,
  type DecodedRequest,
} from './grpc-server.js';
export { OtlpMetricsReceiver, type OtlpMetricsDeps } from './otlp-metrics-receiver.js';
export { decodeMetricsRequestProto } from './metrics-proto-decoder.js';
export { decodeMetricsRequestJson } from './metrics-json-decoder.js';
export * from './otlp-common.js';
export { JsonReader, JsonShapeError } from './otlp-json.js';
export { encodeExportResponse, exportResponseJson, encodeStatus, type PartialSuccess } from './otlp-responses.js';
export { registerOtlpTracesRoutes, type OtlpTracesRouteOptions } from './traces-routes.js';
export { OtlpTracesReceiver, keepTrace, type OtlpTracesDeps, type SpanObserver, type TraceSampling } from './otlp-traces-receiver.js';
export { otlpTracesGrpcService, type OtlpTracesGrpcOptions } from './traces-grpc.js';
export { decodeTracesRequestProto } from './traces-proto-decoder.js';
export { decodeTracesRequestJson } from './traces-json-decoder.js';
export type { DecodedTraces, TraceDecodeOptions } from './traces-model.js';
export { registerOtlpLogsRoutes, type OtlpLogsRouteOptions } from './logs-routes.js';
export { OtlpLogsReceiver, type OtlpLogsDeps } from './otlp-logs-receiver.js';
export { otlpLogsGrpcService, type OtlpLogsGrpcOptions } from './logs-grpc.js';
