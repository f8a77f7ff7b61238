/**
 * OTLP/HTTP protobuf exporters for batches the SDK encoded itself (SpanBatch, LogBatch): the
 * official transport (retries, timeouts, headers and compression from the OTEL_* environment)
 * posting the batch's bytes as they are.
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
const asEncoded = (bytes: Uint8Array) => bytes;

/** A span exporter posting encoded ExportTraceServiceRequests to `url` (the full /v1/traces URL). */
export function otlpTraceExporter(url: string, timeoutMillis: number): OTLPExporterBase<Uint8Array> {
  const serializer = { serializeRequest: asEncoded, deserializeResponse: ProtobufTraceSerializer.deserializeResponse };
  return new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({ url, timeoutMillis }, 'TRACES', 'v1/traces', PROTOBUF), serializer));
}

/** A log exporter posting encoded ExportLogsServiceRequests to `url` (the full /v1/logs URL). */
export function otlpLogExporter(url: string, timeoutMillis: number): OTLPExporterBase<Uint8Array> {
  const serializer = { serializeRequest: asEncoded, deserializeResponse: ProtobufLogsSerializer.deserializeResponse };
  return new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({ url, timeoutMillis }, 'LOGS', 'v1/logs', PROTOBUF), serializer));
}
