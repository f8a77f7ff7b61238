/**
 * Renders stored spans as OTLP TracesData, in OTLP/JSON (hex ids, int64 and fixed64 as decimal
 * strings, enums as integers) or protobuf. Spans are grouped into ResourceSpans and ScopeSpans by
 * their (shared) resource and scope objects, in order of first appearance. Tempo's Trace message
 * (`repeated ResourceSpans = 1`) has the same wire form as TracesData, so the protobuf serves
 * both /api/traces and, wrapped, /api/v2/traces.
 */
import { ProtoWriter } from '../../ingest/protobuf/proto-writer.js';
import { type Attribute, type AttributeValue, type Span, type SpanResource, type SpanScope, isAttributeArray } from '../../model/span.js';

interface ScopeGroup {
  readonly scope: SpanScope;
  readonly spans: Span[];
}

interface ResourceGroup {
  readonly resource: SpanResource;
  readonly scopes: Map<SpanScope, ScopeGroup>;
}

function group(spans: readonly Span[]): ResourceGroup[] {
  const byResource = new Map<SpanResource, ResourceGroup>();
  for (const s of spans) {
    let r = byResource.get(s.resource);
    if (r === undefined) {
      r = { resource: s.resource, scopes: new Map() };
      byResource.set(s.resource, r);
    }
    let sc = r.scopes.get(s.scope);
    if (sc === undefined) {
      sc = { scope: s.scope, spans: [] };
      r.scopes.set(s.scope, sc);
    }
    sc.spans.push(s);
  }
  return [...byResource.values()];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function valueJson(v: AttributeValue): Json {
  if (v === null) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'bigint') return { intValue: v.toString() };
  if (typeof v === 'number') return { doubleValue: Number.isFinite(v) ? v : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN' };
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  if (isAttributeArray(v)) return { arrayValue: { values: v.map(valueJson) } };
  return { kvlistValue: { values: attributesJson(v.values) } };
}

function attributesJson(attributes: readonly Attribute[]): Json[] {
  return attributes.map((a) => ({ key: a.key, value: valueJson(a.value) }));
}

function spanJson(s: Span): Json {
  const out: { [key: string]: Json } = {
    traceId: s.traceId,
    spanId: s.spanId,
  };
  if (s.traceState !== '') out.traceState = s.traceState;
  if (s.parentSpanId !== '') out.parentSpanId = s.parentSpanId;
  if (s.flags !== 0) out.flags = s.flags;
  out.name = s.name;
  out.kind = s.kind;
  out.startTimeUnixNano = s.startNs.toString();
  out.endTimeUnixNano = s.endNs.toString();
  out.attributes = attributesJson(s.attributes);
  if (s.droppedAttributesCount !== 0) out.droppedAttributesCount = s.droppedAttributesCount;
  if (s.events.length > 0) {
    out.events = s.events.map((e) => {
      const ev: { [key: string]: Json } = { timeUnixNano: e.timeNs.toString(), name: e.name, attributes: attributesJson(e.attributes) };
      if (e.droppedAttributesCount !== 0) ev.droppedAttributesCount = e.droppedAttributesCount;
      return ev;
    });
  }
  if (s.droppedEventsCount !== 0) out.droppedEventsCount = s.droppedEventsCount;
  if (s.links.length > 0) {
    out.links = s.links.map((l) => {
      const link: { [key: string]: Json } = { traceId: l.traceId, spanId: l.spanId, attributes: attributesJson(l.attributes) };
      if (l.traceState !== '') link.traceState = l.traceState;
      if (l.flags !== 0) link.flags = l.flags;
      if (l.droppedAttributesCount !== 0) link.droppedAttributesCount = l.droppedAttributesCount;
      return link;
    });
  }
  if (s.droppedLinksCount !== 0) out.droppedLinksCount = s.droppedLinksCount;
  const status: { [key: string]: Json } = {};
  if (s.statusMessage !== '') status.message = s.statusMessage;
  if (s.statusCode !== 0) status.code = s.statusCode;
  out.status = status;
  return out;
}

/** The ResourceSpans of `spans` in OTLP/JSON. */
export function resourceSpansJson(spans: readonly Span[]): Json[] {
  return group(spans).map((r) => {
    const resource: { [key: string]: Json } = { attributes: attributesJson(r.resource.attributes) };
    if (r.resource.droppedAttributesCount !== 0) resource.droppedAttributesCount = r.resource.droppedAttributesCount;
    return {
      resource,
      scopeSpans: [...r.scopes.values()].map((sc) => {
        const scope: { [key: string]: Json } = { name: sc.scope.name };
        if (sc.scope.version !== '') scope.version = sc.scope.version;
        if (sc.scope.attributes.length > 0) scope.attributes = attributesJson(sc.scope.attributes);
        return { scope, spans: sc.spans.map(spanJson) };
      }),
    };
  });
}

function hexBytes(id: string): Buffer {
  return Buffer.from(id, 'hex');
}

function valueProto(v: AttributeValue): Buffer {
  const w = new ProtoWriter();
  if (v === null) return w.finish();
  if (typeof v === 'string') return w.bytes(1, Buffer.from(v, 'utf8')).finish();
  if (typeof v === 'boolean') return w.int64(2, v ? 1n : 0n).finish();
  if (typeof v === 'bigint') return w.int64(3, v).finish();
  if (typeof v === 'number') return w.double(4, v).finish();
  if (v instanceof Uint8Array) return w.bytes(7, v).finish();
  if (isAttributeArray(v)) {
    const arr = new ProtoWriter();
    for (const x of v) arr.bytes(1, valueProto(x));
    return w.bytes(5, arr.finish()).finish();
  }
  const list = new ProtoWriter();
  for (const kv of v.values) list.bytes(1, keyValueProto(kv));
  return w.bytes(6, list.finish()).finish();
}

function keyValueProto(a: Attribute): Buffer {
  return new ProtoWriter().string(1, a.key).bytes(2, valueProto(a.value)).finish();
}

function attributesProto(w: ProtoWriter, field: number, attributes: readonly Attribute[]): void {
  for (const a of attributes) w.bytes(field, keyValueProto(a));
}

function spanProto(s: Span): Buffer {
  const w = new ProtoWriter().bytes(1, hexBytes(s.traceId)).bytes(2, hexBytes(s.spanId)).string(3, s.traceState);
  if (s.parentSpanId !== '') w.bytes(4, hexBytes(s.parentSpanId));
  w.string(5, s.name).int(6, s.kind).fixed64(7, s.startNs).fixed64(8, s.endNs);
  attributesProto(w, 9, s.attributes);
  w.int(10, s.droppedAttributesCount);
  for (const e of s.events) {
    const ev = new ProtoWriter().fixed64(1, e.timeNs).string(2, e.name);
    attributesProto(ev, 3, e.attributes);
    w.bytes(11, ev.int(4, e.droppedAttributesCount).finish());
  }
  w.int(12, s.droppedEventsCount);
  for (const l of s.links) {
    const link = new ProtoWriter().bytes(1, hexBytes(l.traceId)).bytes(2, hexBytes(l.spanId)).string(3, l.traceState);
    attributesProto(link, 4, l.attributes);
    w.bytes(13, link.int(5, l.droppedAttributesCount).fixed32(6, l.flags).finish());
  }
  w.int(14, s.droppedLinksCount);
  w.bytes(15, new ProtoWriter().string(2, s.statusMessage).int(3, s.statusCode).finish());
  return w.fixed32(16, s.flags).finish();
}

/** TracesData (and Tempo's Trace) in protobuf. */
export function tracesDataProto(spans: readonly Span[]): Buffer {
  const out = new ProtoWriter();
  for (const r of group(spans)) {
    const rs = new ProtoWriter();
    const res = new ProtoWriter();
    attributesProto(res, 1, r.resource.attributes);
    rs.bytes(1, res.int(2, r.resource.droppedAttributesCount).finish());
    for (const sc of r.scopes.values()) {
      const scope = new ProtoWriter().string(1, sc.scope.name).string(2, sc.scope.version);
      attributesProto(scope, 3, sc.scope.attributes);
      const ss = new ProtoWriter().bytes(1, scope.finish());
      for (const s of sc.spans) ss.bytes(2, spanProto(s));
      rs.bytes(2, ss.finish());
    }
    out.bytes(1, rs.finish());
  }
  return out.finish();
}
