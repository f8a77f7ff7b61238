/**
 * Span ↔ row encoding of the span table. Attribute values keep their OTLP type in a compact JSON
 * form (strings and booleans as themselves; {"i":"…"} int64, {"d":…} double, {"b":"…"} bytes,
 * {"a":[…]} array, {"kv":[[k,v],…]} list), so a trace reads back with the exact types it was sent.
 * Resources and scopes are encoded once per distinct object in a batch and decoded once per
 * origin in a trace, so spans of one producer share one object again.
 */
import {
  type Attribute,
  type AttributeValue,
  type Span,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type SpanResource,
  type SpanScope,
  type StatusCode,
  attributeValueToString,
  isAttributeArray,
} from '../../../model/span.js';
import { TAG_SEPARATOR, hexOfKey, traceIdOf } from './trace-tables.js';

/** The JSON text of one value, built directly (this runs once per attribute on the ingest path). */
function encodeValue(v: AttributeValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? `{"d":${v}}` : `{"d":"${v}"}`;
  if (typeof v === 'bigint') return `{"i":"${v}"}`;
  if (v instanceof Uint8Array) return `{"b":"${Buffer.from(v).toString('base64')}"}`;
  if (isAttributeArray(v)) return `{"a":[${v.map(encodeValue).join(',')}]}`;
  return `{"kv":${encodeAttributes(v.values)}}`;
}

function encodeAttributes(attributes: readonly Attribute[]): string {
  let out = '[';
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i]!;
    out += `${i === 0 ? '' : ','}[${JSON.stringify(a.key)},${encodeValue(a.value)}]`;
  }
  return `${out}]`;
}

function decodeValue(v: unknown): AttributeValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  const o = v as Record<string, unknown>;
  if ('i' in o) return BigInt(o.i as string);
  if ('d' in o) return typeof o.d === 'number' ? o.d : Number(o.d);
  if ('b' in o) return new Uint8Array(Buffer.from(o.b as string, 'base64'));
  if ('a' in o) return (o.a as unknown[]).map(decodeValue);
  return { values: decodeAttributes(o.kv) };
}

function decodeAttributes(v: unknown): Attribute[] {
  return (v as [string, unknown][]).map(([key, value]) => ({ key, value: decodeValue(value) }));
}

/** The span fields not held in columns of their own, as JSON. */
export function encodeSpanBody(s: Span): string {
  let out = `{"a":${encodeAttributes(s.attributes)}`;
  if (s.traceState !== '') out += `,"ts":${JSON.stringify(s.traceState)}`;
  if (s.flags !== 0) out += `,"f":${s.flags}`;
  if (s.droppedAttributesCount !== 0) out += `,"da":${s.droppedAttributesCount}`;
  if (s.events.length > 0) {
    out += `,"e":[${s.events.map((e) => `["${e.timeNs}",${JSON.stringify(e.name)},${encodeAttributes(e.attributes)},${e.droppedAttributesCount}]`).join(',')}]`;
  }
  if (s.droppedEventsCount !== 0) out += `,"de":${s.droppedEventsCount}`;
  if (s.links.length > 0) {
    out += `,"l":[${s.links
      .map((l) => `["${l.traceId}","${l.spanId}",${JSON.stringify(l.traceState)},${l.flags},${encodeAttributes(l.attributes)},${l.droppedAttributesCount}]`)
      .join(',')}]`;
  }
  if (s.droppedLinksCount !== 0) out += `,"dl":${s.droppedLinksCount}`;
  return `${out}}`;
}

export function encodeResource(r: SpanResource): string {
  return `{"a":${encodeAttributes(r.attributes)},"d":${r.droppedAttributesCount}}`;
}

export function encodeScope(s: SpanScope): string {
  return `{"n":${JSON.stringify(s.name)},"v":${JSON.stringify(s.version)},"a":${encodeAttributes(s.attributes)}}`;
}

function clean(text: string): string {
  return text.includes(TAG_SEPARATOR) ? text.replaceAll(TAG_SEPARATOR, ' ') : text;
}

/** `key=value` entries of the tags column for one attribute list, each followed by the separator. */
export function flattenTags(prefix: 'span.' | 'resource.', attributes: readonly Attribute[]): string {
  let out = '';
  for (const a of attributes) {
    if (prefix === 'resource.' && a.key === 'service.name') continue;
    out += `${prefix}${clean(a.key)}=${clean(attributeValueToString(a.value))}${TAG_SEPARATOR}`;
  }
  return out;
}

/** Decodes spans read with SPAN_SELECT_COLUMNS; spans of one origin share its resource and scope objects. */
export class SpanRowDecoder {
  private readonly decoded = new Map<bigint, { resource: SpanResource; scope: SpanScope }>();

  decode(row: readonly unknown[]): Span {
    const [traceHi, traceKey, spanKey, parentKey, startNs, endNs, service, name, kind, statusCode, statusMessage, requestId, bodyText, originId, resourceText, scopeText] =
      row as [bigint, bigint, bigint, bigint, bigint, bigint, string, string, number, number, string | null, string | null, string, bigint, string, string];
    const body = JSON.parse(bodyText) as {
      a: unknown;
      ts?: string;
      f?: number;
      da?: number;
      e?: [string, string, unknown, number][];
      de?: number;
      l?: [string, string, string, number, unknown, number][];
      dl?: number;
    };
    const events: SpanEvent[] = (body.e ?? []).map(([t, n, a, d]) => ({ timeNs: BigInt(t), name: n, attributes: decodeAttributes(a), droppedAttributesCount: d }));
    const links: SpanLink[] = (body.l ?? []).map(([tid, sid, ts, f, a, d]) => ({
      traceId: tid,
      spanId: sid,
      traceState: ts,
      flags: f,
      attributes: decodeAttributes(a),
      droppedAttributesCount: d,
    }));
    const origin = this.origin(originId, resourceText, scopeText);
    return {
      traceId: traceIdOf(traceHi, traceKey),
      spanId: hexOfKey(spanKey),
      parentSpanId: parentKey === 0n ? '' : hexOfKey(parentKey),
      traceState: body.ts ?? '',
      flags: body.f ?? 0,
      name,
      kind: kind as SpanKind,
      startNs,
      endNs,
      statusCode: statusCode as StatusCode,
      statusMessage: statusMessage ?? '',
      attributes: decodeAttributes(body.a),
      droppedAttributesCount: body.da ?? 0,
      events,
      droppedEventsCount: body.de ?? 0,
      links,
      droppedLinksCount: body.dl ?? 0,
      resource: origin.resource,
      scope: origin.scope,
      service,
      requestId: requestId ?? '',
    };
  }

  private origin(id: bigint, resourceText: string, scopeText: string): { resource: SpanResource; scope: SpanScope } {
    let o = this.decoded.get(id);
    if (o === undefined) {
      const r = JSON.parse(resourceText) as { a: unknown; d: number };
      const sc = JSON.parse(scopeText) as { n: string; v: string; a: unknown };
      o = {
        resource: { attributes: decodeAttributes(r.a), droppedAttributesCount: r.d },
        scope: { name: sc.n, version: sc.v, attributes: decodeAttributes(sc.a) },
      };
      this.decoded.set(id, o);
    }
    return o;
  }
}
