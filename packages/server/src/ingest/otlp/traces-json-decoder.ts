/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest into model Spans. OTLP/JSON differs from the
 * canonical protobuf JSON mapping in one place that matters here: trace and span ids are hex
 * strings, not base64. Shape errors name the JSON path; invalid spans are counted, not fatal.
 */
import { Rejections } from '../rejections.js';
import { type Span, type SpanEvent, type SpanLink, type SpanResource, serviceNameOf, SPAN_KIND_NAMES, STATUS_CODE_NAMES } from '../../model/span.js';
import { JsonReader, type JsonObject } from './otlp-json.js';
import { type DecodedTraces, type RawSpan, type TraceDecodeOptions, acceptSpan, newRawSpan } from './traces-model.js';

const HEX_ID_RE = /^[0-9a-fA-F]*$/;

/** Decodes a parsed OTLP/JSON body; throws JsonShapeError on malformed input. */
export function decodeTracesRequestJson(body: unknown, opts: TraceDecodeOptions): DecodedTraces {
  const j = new JsonReader('otlp traces JSON');
  const root = j.object(body, '$');
  const spans: Span[] = [];
  const rejections = new Rejections();
  j.array(root.resourceSpans, '$.resourceSpans').forEach((rsValue, ri) => {
    const rsPath = `$.resourceSpans[${ri}]`;
    const rs = j.object(rsValue, rsPath);
    const resObj = j.optObject(rs.resource, `${rsPath}.resource`);
    const resource: SpanResource = {
      attributes: j.resource(rs.resource, `${rsPath}.resource`),
      droppedAttributesCount: resObj === null ? 0 : j.int64(resObj.droppedAttributesCount, `${rsPath}.resource.droppedAttributesCount`),
    };
    const service = serviceNameOf(resource);
    j.array(rs.scopeSpans, `${rsPath}.scopeSpans`).forEach((ssValue, si) => {
      const ssPath = `${rsPath}.scopeSpans[${si}]`;
      const ss = j.object(ssValue, ssPath);
      const scope = j.scope(ss.scope, `${ssPath}.scope`);
      j.array(ss.spans, `${ssPath}.spans`).forEach((spanValue, pi) => {
        const path = `${ssPath}.spans[${pi}]`;
        const raw = decodeSpan(j, j.object(spanValue, path), path, newRawSpan(resource, scope, service));
        acceptSpan(raw, ssPath.slice(2), pi, opts, spans, rejections);
      });
    });
  });
  return { spans, rejections };
}

function decodeSpan(j: JsonReader, o: JsonObject, path: string, s: RawSpan): RawSpan {
  s.traceId = hexId(j, o.traceId, `${path}.traceId`);
  s.spanId = hexId(j, o.spanId, `${path}.spanId`);
  s.parentSpanId = hexId(j, o.parentSpanId, `${path}.parentSpanId`);
  s.traceState = j.string(o.traceState, `${path}.traceState`);
  s.flags = j.int64(o.flags, `${path}.flags`);
  s.name = j.string(o.name, `${path}.name`);
  s.kind = j.enumValue(o.kind, `${path}.kind`, SPAN_KIND_NAMES);
  s.startNs = nanos(j, o.startTimeUnixNano, `${path}.startTimeUnixNano`);
  s.endNs = nanos(j, o.endTimeUnixNano, `${path}.endTimeUnixNano`);
  s.attributes = j.keyValues(o.attributes, `${path}.attributes`);
  s.droppedAttributesCount = j.int64(o.droppedAttributesCount, `${path}.droppedAttributesCount`);
  s.events = j.array(o.events, `${path}.events`).map((e, i) => decodeEvent(j, j.object(e, `${path}.events[${i}]`), `${path}.events[${i}]`));
  s.droppedEventsCount = j.int64(o.droppedEventsCount, `${path}.droppedEventsCount`);
  s.links = j.array(o.links, `${path}.links`).map((l, i) => decodeLink(j, j.object(l, `${path}.links[${i}]`), `${path}.links[${i}]`));
  s.droppedLinksCount = j.int64(o.droppedLinksCount, `${path}.droppedLinksCount`);
  const status = j.optObject(o.status, `${path}.status`);
  if (status !== null) {
    s.statusCode = j.enumValue(status.code, `${path}.status.code`, STATUS_CODE_NAMES);
    s.statusMessage = j.string(status.message, `${path}.status.message`);
  }
  return s;
}

function decodeEvent(j: JsonReader, o: JsonObject, path: string): SpanEvent {
  return {
    timeNs: nanos(j, o.timeUnixNano, `${path}.timeUnixNano`),
    name: j.string(o.name, `${path}.name`),
    attributes: j.keyValues(o.attributes, `${path}.attributes`),
    droppedAttributesCount: j.int64(o.droppedAttributesCount, `${path}.droppedAttributesCount`),
  };
}

function decodeLink(j: JsonReader, o: JsonObject, path: string): SpanLink {
  return {
    traceId: hexId(j, o.traceId, `${path}.traceId`),
    spanId: hexId(j, o.spanId, `${path}.spanId`),
    traceState: j.string(o.traceState, `${path}.traceState`),
    flags: j.int64(o.flags, `${path}.flags`),
    attributes: j.keyValues(o.attributes, `${path}.attributes`),
    droppedAttributesCount: j.int64(o.droppedAttributesCount, `${path}.droppedAttributesCount`),
  };
}

/** A trace or span id: a hex string (OTLP/JSON), lowercased; '' when absent. */
function hexId(j: JsonReader, v: unknown, path: string): string {
  const s = j.string(v, path);
  if (!HEX_ID_RE.test(s)) j.fail(path, `expected a hex-encoded id, got ${JSON.stringify(s)}`);
  return s.toLowerCase();
}

/** A fixed64 nanosecond timestamp as an exact bigint: a decimal string or a JSON integer. */
function nanos(j: JsonReader, v: unknown, path: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    const n = BigInt(v);
    if (n < 1n << 64n) return n;
  }
  // Integers past 2^53 arrive as imprecise JSON numbers; they are taken as the nearest integer.
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 64) return BigInt(v);
  return j.fail(path, `expected a Unix time in nanoseconds (decimal string or integer), got ${JSON.stringify(v)}`);
}
