/**
 * OTLP log records → Watchkeeper LogRecords, shared by the protobuf and the JSON decoder. As Loki
 * does for OTLP, the stream is `service_name` (plus service namespace and deployment environment
 * when set), log attributes become per-line attributes (structured metadata) and the resource is
 * kept whole. A record with a malformed trace or span id is rejected alone (OTLP partial success).
 */
import { labelsFromPairs, type Labels } from '../../model/labels.js';
import { canonicalLevel, UNKNOWN_SERVICE, type LogRecord } from '../../model/log-record.js';
import { anyValueToString, KeyValueList, type AnyValue, type KeyValue } from './otlp-common.js';

/** The fields of one OTLP LogRecord as both decoders read them. */
export interface OtlpLogFields {
  timeNs: bigint;
  observedNs: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  /** Lowercase hex ('' when absent). */
  traceId: string;
  spanId: string;
  eventName: string;
}

export function newLogFields(): OtlpLogFields {
  return { timeNs: 0n, observedNs: 0n, severityNumber: 0, severityText: '', body: null, attributes: [], traceId: '', spanId: '', eventName: '' };
}

/** Attribute names that carry a request id, tried in order. */
const REQUEST_ID_ATTRIBUTES = ['request_id', 'http.request.header.x-request-id', 'http.request_id', 'requestId', 'correlation_id'];

/** Per-resource context: the stream, service and JSON resource shared by all its records. */
export interface ResourceContext {
  readonly service: string;
  readonly stream: Labels;
  readonly resource: Readonly<Record<string, unknown>>;
}

export function resourceContext(attributes: readonly KeyValue[]): ResourceContext {
  const resource = keyValuesToJson(attributes);
  const text = (k: string): string => {
    const v = resource[k];
    return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  };
  const service = text('service.name') || UNKNOWN_SERVICE;
  const stream = labelsFromPairs([
    ['service_name', service],
    ['service_namespace', text('service.namespace')],
    ['deployment_environment', text('deployment.environment.name') || text('deployment.environment')],
  ]);
  return { service, stream, resource };
}

/** A LogRecord, or the reason the record is rejected. */
export function toLogRecord(f: OtlpLogFields, ctx: ResourceContext, receivedNs: bigint): LogRecord | string {
  if (f.traceId !== '' && !/^[0-9a-f]{32}$/.test(f.traceId)) return `trace_id must be 16 bytes, got ${f.traceId.length / 2}`;
  if (f.spanId !== '' && !/^[0-9a-f]{16}$/.test(f.spanId)) return `span_id must be 8 bytes, got ${f.spanId.length / 2}`;
  if (f.severityNumber < 0 || f.severityNumber > 24) return `severity_number ${f.severityNumber} is outside 0..24`;
  const attributes = keyValuesToJson(f.attributes);
  if (f.eventName !== '') attributes['event.name'] = f.eventName;
  let requestId = '';
  for (const name of REQUEST_ID_ATTRIBUTES) {
    const v = attributes[name];
    if (typeof v === 'string' && v !== '') {
      requestId = v;
      break;
    }
  }
  const observedNs = f.observedNs !== 0n ? f.observedNs : receivedNs;
  return {
    timeNs: f.timeNs !== 0n ? f.timeNs : observedNs,
    observedNs,
    service: ctx.service,
    level: canonicalLevel(f.severityNumber, f.severityText),
    severityText: f.severityText,
    severity: f.severityNumber,
    body: typeof f.body === 'string' ? f.body : anyValueToString(f.body),
    traceId: allZero(f.traceId) ? '' : f.traceId,
    spanId: allZero(f.spanId) ? '' : f.spanId,
    requestId,
    stream: ctx.stream,
    attributes,
    resource: ctx.resource,
  };
}

function allZero(hex: string): boolean {
  return hex !== '' && /^0+$/.test(hex);
}

/** Attributes as a JSON object (int64 beyond 2^53 as decimal text, bytes as base64). */
export function keyValuesToJson(kvs: readonly KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs) out[kv.key] = anyValueToJsonSafe(kv.value);
  return out;
}

function anyValueToJsonSafe(v: AnyValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof KeyValueList) return keyValuesToJson(v.values);
  return v.map(anyValueToJsonSafe);
}
