/**
 * OTLP/HTTP protobuf exporters for spans and log records: the official transport (retries, timeouts,
 * headers and compression from the OTEL_* environment) with the SDK's direct encoders.
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { encodeLogRecords, encodeSpans } from './otlp-encoding.js';

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };

/** A span exporter posting to `url` (the full /v1/traces URL). */
export function otlpTraceExporter(url: string, timeoutMillis: number): OTLPExporterBase<ReadableSpan[]> {
  const serializer = { serializeRequest: encodeSpans, deserializeResponse: ProtobufTraceSerializer.deserializeResponse };
  return new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({ url, timeoutMillis }, 'TRACES', 'v1/traces', PROTOBUF), serializer));
}

/** A log record exporter posting to `url` (the full /v1/logs URL). */
export function otlpLogExporter(url: string, timeoutMillis: number): OTLPExporterBase<ReadableLogRecord[]> {
  const serializer = { serializeRequest: encodeLogRecords, deserializeResponse: ProtobufLogsSerializer.deserializeResponse };
  return new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({ url, timeoutMillis }, 'LOGS', 'v1/logs', PROTOBUF), serializer));
}
