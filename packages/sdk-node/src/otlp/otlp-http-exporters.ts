/**
 * OTLP/HTTP protobuf exporters for spans and log lines: the official transport (retries, timeouts,
 * headers and compression from the OTEL_* environment) with the SDK's direct encoders.
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import { encodeLogLines, type QueuedLine } from './log-shipper.js';
import type { LeanSpan } from '../tracing/lean-span.js';
import { encodeSpans } from './otlp-encoding.js';
import { ProtoWriter } from './proto-writer.js';

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };

/** A span exporter posting to `url` (the full /v1/traces URL). */
export function otlpTraceExporter(url: string, timeoutMillis: number): OTLPExporterBase<LeanSpan[]> {
  const writer = new ProtoWriter();
  const serializer = { serializeRequest: (spans: LeanSpan[]) => encodeSpans(spans, writer), deserializeResponse: ProtobufTraceSerializer.deserializeResponse };
  return new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({ url, timeoutMillis }, 'TRACES', 'v1/traces', PROTOBUF), serializer));
}

/** A log line exporter posting to `url` (the full /v1/logs URL), the lines coming from `resource`. */
export function otlpLogLineExporter(url: string, timeoutMillis: number, resource: Resource): OTLPExporterBase<QueuedLine[]> {
  const writer = new ProtoWriter();
  const serializer = { serializeRequest: (lines: QueuedLine[]) => encodeLogLines(resource, lines, writer), deserializeResponse: ProtobufLogsSerializer.deserializeResponse };
  return new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({ url, timeoutMillis }, 'LOGS', 'v1/logs', PROTOBUF), serializer));
}
