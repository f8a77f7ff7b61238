/**
 * Decodes an OTLP ExportLogsServiceRequest (opentelemetry/proto/logs/v1) from protobuf straight
 * into LogRecords.
 *
 * ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
 * ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
 * ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
 * LogRecord { fixed64 time_unix_nano = 1; SeverityNumber severity_number = 2; string severity_text = 3; AnyValue body = 5;
 *             repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7; fixed32 flags = 8; bytes trace_id = 9;
 *             bytes span_id = 10; fixed64 observed_time_unix_nano = 11; string event_name = 12; }
 */
import { ProtoReader, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, expectWireType } from '../protobuf/proto-reader.js';
import type { RecordRejections } from '../log-ingest.js';
import type { LogRecord } from '../../model/log-record.js';
import { decodeAnyValue, decodeKeyValue, decodeResource, type KeyValue } from './otlp-common.js';
import { newLogFields, resourceContext, toLogRecord, type OtlpLogFields, type ResourceContext } from './logs-records.js';

const LD = WIRE_LENGTH_DELIMITED;

/** Decodes a protobuf logs request; throws DecodeError on malformed input, rejects invalid records into `rejections`. */
export function decodeLogsRequestProto(body: Uint8Array, receivedNs: bigint, rejections: RecordRejections): LogRecord[] {
  const r = new ProtoReader(body, 'otlp logs');
  const out: LogRecord[] = [];
  const end = r.length;
  let index = 0;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key >>> 3 === 1) {
      expectWireType(r, key, LD, 'ExportLogsServiceRequest.resource_logs');
      decodeResourceLogs(r, r.messageEnd(end), receivedNs, out, rejections, `resource_logs[${index++}]`);
    } else r.skip(key & 7);
  }
  return out;
}

function decodeResourceLogs(r: ProtoReader, end: number, receivedNs: bigint, out: LogRecord[], rejections: RecordRejections, where: string): void {
  let resource: KeyValue[] = [];
  // Scope logs may precede the resource on the wire: remember their extents and decode after.
  const scopes: [number, number][] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(r, key, LD, 'ResourceLogs.resource');
      resource = decodeResource(r, r.messageEnd(end));
    } else if (field === 2) {
      expectWireType(r, key, LD, 'ResourceLogs.scope_logs');
      const scopeEnd = r.messageEnd(end);
      scopes.push([r.pos, scopeEnd]);
      r.pos = scopeEnd;
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'ResourceLogs');
  const ctx = resourceContext(resource);
  scopes.forEach(([start, scopeEnd], si) => {
    r.pos = start;
    decodeScopeLogs(r, scopeEnd, ctx, receivedNs, out, rejections, `${where}.scope_logs[${si}]`);
  });
  r.pos = end;
}

function decodeScopeLogs(r: ProtoReader, end: number, ctx: ResourceContext, receivedNs: bigint, out: LogRecord[], rejections: RecordRejections, where: string): void {
  let index = 0;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key >>> 3 === 2) {
      expectWireType(r, key, LD, 'ScopeLogs.log_records');
      const f = decodeLogRecord(r, r.messageEnd(end));
      const rec = toLogRecord(f, ctx, receivedNs);
      if (typeof rec === 'string') rejections.add(`${where}.log_records[${index}]`, rec);
      else out.push(rec);
      index++;
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'ScopeLogs');
}

function fixed64Big(r: ProtoReader): bigint {
  const lo = r.fixed32();
  const hi = r.fixed32();
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function decodeLogRecord(r: ProtoReader, end: number): OtlpLogFields {
  const f = newLogFields();
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key >>> 3) {
      case 1:
        expectWireType(r, key, WIRE_FIXED64, 'LogRecord.time_unix_nano');
        f.timeNs = fixed64Big(r);
        break;
      case 2:
        expectWireType(r, key, WIRE_VARINT, 'LogRecord.severity_number');
        f.severityNumber = r.int32();
        break;
      case 3:
        expectWireType(r, key, LD, 'LogRecord.severity_text');
        f.severityText = r.string(end);
        break;
      case 5:
        expectWireType(r, key, LD, 'LogRecord.body');
        f.body = decodeAnyValue(r, r.messageEnd(end));
        break;
      case 6:
        expectWireType(r, key, LD, 'LogRecord.attributes');
        f.attributes.push(decodeKeyValue(r, r.messageEnd(end)));
        break;
      case 9:
        expectWireType(r, key, LD, 'LogRecord.trace_id');
        f.traceId = r.bytes(end).toString('hex');
        break;
      case 10:
        expectWireType(r, key, LD, 'LogRecord.span_id');
        f.spanId = r.bytes(end).toString('hex');
        break;
      case 11:
        expectWireType(r, key, WIRE_FIXED64, 'LogRecord.observed_time_unix_nano');
        f.observedNs = fixed64Big(r);
        break;
      case 12:
        expectWireType(r, key, LD, 'LogRecord.event_name');
        f.eventName = r.string(end);
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'LogRecord');
  return f;
}
