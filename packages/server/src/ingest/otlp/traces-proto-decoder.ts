/**
 * Decodes an OTLP ExportTraceServiceRequest (opentelemetry/proto/trace/v1) from protobuf straight
 * into model Spans, reusing the common Resource/Scope/KeyValue decoders.
 *
 * ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
 * ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
 * ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
 * Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
 *        SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
 *        uint32 dropped_attributes_count = 10; repeated Event events = 11; uint32 dropped_events_count = 12;
 *        repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15; fixed32 flags = 16; }
 * Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
 * Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4;
 *        uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
 * Status { string message = 2; StatusCode code = 3; }
 */
import { ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, expectWireType } from '../protobuf/proto-reader.js';
import { Rejections } from '../rejections.js';
import { type Attribute, type Span, type SpanEvent, type SpanLink, type SpanResource, type SpanScope, EMPTY_SCOPE, serviceNameOf } from '../../model/span.js';
import { decodeKeyValue, decodeResource, decodeScope } from './otlp-common.js';
import { type DecodedTraces, type RawSpan, type TraceDecodeOptions, acceptSpan, newRawSpan } from './traces-model.js';

const LD = WIRE_LENGTH_DELIMITED;

/** Decodes a protobuf ExportTraceServiceRequest; throws DecodeError on malformed input. */
export function decodeTracesRequestProto(body: Uint8Array, opts: TraceDecodeOptions): DecodedTraces {
  const r = new ProtoReader(body, 'otlp traces', opts.interner ?? null);
  const spans: Span[] = [];
  const rejections = new Rejections();
  const end = r.length;
  let index = 0;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) decodeResourceSpans(r, r.messageEnd(end), `resourceSpans[${index++}]`, opts, spans, rejections);
    else r.skip(key & 7);
  }
  return { spans, rejections };
}

function decodeResourceSpans(r: ProtoReader, end: number, where: string, opts: TraceDecodeOptions, out: Span[], rejections: Rejections): void {
  // The resource may follow the scope spans on the wire: decode spans after the whole message is read.
  let resource: SpanResource = { attributes: [], droppedAttributesCount: 0 };
  const scopeRanges: number[] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) resource = { attributes: decodeResource(r, r.messageEnd(end)), droppedAttributesCount: 0 };
    else if (key === ((2 << 3) | LD)) {
      const scopeEnd = r.messageEnd(end);
      scopeRanges.push(r.pos, scopeEnd);
      r.pos = scopeEnd;
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'ResourceSpans');
  const service = serviceNameOf(resource);
  for (let i = 0; i < scopeRanges.length; i += 2) {
    r.pos = scopeRanges[i]!;
    decodeScopeSpans(r, scopeRanges[i + 1]!, `${where}.scopeSpans[${i / 2}]`, resource, service, opts, out, rejections);
  }
  r.pos = end;
}

function decodeScopeSpans(
  r: ProtoReader,
  end: number,
  where: string,
  resource: SpanResource,
  service: string,
  opts: TraceDecodeOptions,
  out: Span[],
  rejections: Rejections,
): void {
  let scope: SpanScope = EMPTY_SCOPE;
  const spanRanges: number[] = [];
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | LD)) scope = decodeScope(r, r.messageEnd(end));
    else if (key === ((2 << 3) | LD)) {
      const spanEnd = r.messageEnd(end);
      spanRanges.push(r.pos, spanEnd);
      r.pos = spanEnd;
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'ScopeSpans');
  for (let i = 0; i < spanRanges.length; i += 2) {
    r.pos = spanRanges[i]!;
    const raw = decodeSpan(r, spanRanges[i + 1]!, newRawSpan(resource, scope, service));
    acceptSpan(raw, where, i / 2, opts, out, rejections);
  }
  r.pos = end;
}

function decodeSpan(r: ProtoReader, end: number, s: RawSpan): RawSpan {
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key >>> 3) {
      case 1:
        expectWireType(r, key, LD, 'Span.trace_id');
        s.traceId = hexField(r, end);
        break;
      case 2:
        expectWireType(r, key, LD, 'Span.span_id');
        s.spanId = hexField(r, end);
        break;
      case 3:
        expectWireType(r, key, LD, 'Span.trace_state');
        s.traceState = r.string(end);
        break;
      case 4:
        expectWireType(r, key, LD, 'Span.parent_span_id');
        s.parentSpanId = hexField(r, end);
        break;
      case 5:
        expectWireType(r, key, LD, 'Span.name');
        s.name = r.string(end);
        break;
      case 6:
        expectWireType(r, key, WIRE_VARINT, 'Span.kind');
        s.kind = r.uint32();
        break;
      case 7:
        expectWireType(r, key, WIRE_FIXED64, 'Span.start_time_unix_nano');
        s.startNs = fixed64Big(r);
        break;
      case 8:
        expectWireType(r, key, WIRE_FIXED64, 'Span.end_time_unix_nano');
        s.endNs = fixed64Big(r);
        break;
      case 9:
        expectWireType(r, key, LD, 'Span.attributes');
        s.attributes.push(decodeKeyValue(r, r.messageEnd(end)));
        break;
      case 10:
        expectWireType(r, key, WIRE_VARINT, 'Span.dropped_attributes_count');
        s.droppedAttributesCount = r.uint32();
        break;
      case 11:
        expectWireType(r, key, LD, 'Span.events');
        s.events.push(decodeEvent(r, r.messageEnd(end)));
        break;
      case 12:
        expectWireType(r, key, WIRE_VARINT, 'Span.dropped_events_count');
        s.droppedEventsCount = r.uint32();
        break;
      case 13:
        expectWireType(r, key, LD, 'Span.links');
        s.links.push(decodeLink(r, r.messageEnd(end)));
        break;
      case 14:
        expectWireType(r, key, WIRE_VARINT, 'Span.dropped_links_count');
        s.droppedLinksCount = r.uint32();
        break;
      case 15:
        expectWireType(r, key, LD, 'Span.status');
        decodeStatus(r, r.messageEnd(end), s);
        break;
      case 16:
        expectWireType(r, key, WIRE_FIXED32, 'Span.flags');
        s.flags = r.fixed32();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'Span');
  return s;
}

function decodeEvent(r: ProtoReader, end: number): SpanEvent {
  let timeNs = 0n;
  let name = '';
  const attributes: Attribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.tag(end);
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(r, key, WIRE_FIXED64, 'Event.time_unix_nano');
      timeNs = fixed64Big(r);
    } else if (field === 2) {
      expectWireType(r, key, LD, 'Event.name');
      name = r.string(end);
    } else if (field === 3) {
      expectWireType(r, key, LD, 'Event.attributes');
      attributes.push(decodeKeyValue(r, r.messageEnd(end)));
    } else if (field === 4) {
      expectWireType(r, key, WIRE_VARINT, 'Event.dropped_attributes_count');
      dropped = r.uint32();
    } else r.skip(key & 7);
  }
  r.expectEnd(end, 'Span.Event');
  return { timeNs, name, attributes, droppedAttributesCount: dropped };
}

function decodeLink(r: ProtoReader, end: number): SpanLink {
  let traceId = '';
  let spanId = '';
  let traceState = '';
  let flags = 0;
  const attributes: Attribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key >>> 3) {
      case 1:
        expectWireType(r, key, LD, 'Link.trace_id');
        traceId = hexField(r, end);
        break;
      case 2:
        expectWireType(r, key, LD, 'Link.span_id');
        spanId = hexField(r, end);
        break;
      case 3:
        expectWireType(r, key, LD, 'Link.trace_state');
        traceState = r.string(end);
        break;
      case 4:
        expectWireType(r, key, LD, 'Link.attributes');
        attributes.push(decodeKeyValue(r, r.messageEnd(end)));
        break;
      case 5:
        expectWireType(r, key, WIRE_VARINT, 'Link.dropped_attributes_count');
        dropped = r.uint32();
        break;
      case 6:
        expectWireType(r, key, WIRE_FIXED32, 'Link.flags');
        flags = r.fixed32();
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'Span.Link');
  return { traceId, spanId, traceState, flags, attributes, droppedAttributesCount: dropped };
}

function decodeStatus(r: ProtoReader, end: number, s: RawSpan): void {
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((2 << 3) | LD)) s.statusMessage = r.string(end);
    else if (key === ((3 << 3) | WIRE_VARINT)) s.statusCode = r.uint32();
    else r.skip(key & 7);
  }
  r.expectEnd(end, 'Status');
}

/** A length-delimited bytes field as lowercase hex (ids), without a Buffer view per field. */
function hexField(r: ProtoReader, limit: number): string {
  const end = r.messageEnd(limit);
  const start = r.pos;
  r.pos = end;
  return r.buf.toString('hex', start, end);
}

/** A fixed64 as an exact unsigned bigint (nanosecond timestamps exceed 2^53). */
function fixed64Big(r: ProtoReader): bigint {
  const p = r.pos;
  if (p + 8 > r.buf.length) throw r.error('truncated 8-byte fixed field');
  r.pos = p + 8;
  return r.buf.readBigUInt64LE(p);
}
