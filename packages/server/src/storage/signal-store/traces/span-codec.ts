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
import { hexOfInt64 } from '../hex-id-columns.js';
import { TAG_SEPARATOR, traceIdOf } from './trace-tables.js';

/**
 * JSON texts of short strings seen before (attribute keys, enum-like values): most of a span's
 * strings repeat across spans and are interned by the decoder, so a Map lookup is cheaper than
 * escaping them again. Cleared when full, so memory stays bounded.
 */
const jsonOfString = new Map<string, string>();
const JSON_CACHE_MAX = 50_000;
const JSON_CACHE_MAX_LENGTH = 64;

function jsonString(v: string): string {
  if (v.length > JSON_CACHE_MAX_LENGTH) return JSON.stringify(v);
  let json = jsonOfString.get(v);
  if (json === undefined) {
    if (jsonOfString.size >= JSON_CACHE_MAX) jsonOfString.clear();
    json = JSON.stringify(v);
    jsonOfString.set(v, json);
  }
  return json;
}

/**
 * Appends the JSON text of one value to `out` (this runs once per attribute on the ingest path;
 * the parts are joined once, into a flat string, rather than concatenated piece by piece).
 */
function pushValue(out: string[], v: AttributeValue): void {
  if (typeof v === 'string') out.push(jsonString(v));
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
  else if (v === null) out.push('null');
  else if (typeof v === 'number') out.push(Number.isFinite(v) ? '{"d":' : '{"d":"', String(v), Number.isFinite(v) ? '}' : '"}');
  else if (typeof v === 'bigint') out.push('{"i":"', v.toString(), '"}');
  else if (v instanceof Uint8Array) out.push('{"b":"', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), '"}');
  else if (isAttributeArray(v)) {
    out.push('{"a":[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      pushValue(out, v[i]!);
    }
    out.push(']}');
  } else {
    out.push('{"kv":');
    pushAttributes(out, v.values);
    out.push('}');
  }
}

function pushAttributes(out: string[], attributes: readonly Attribute[]): void {
  out.push('[');
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i]!;
    out.push(i === 0 ? '[' : ',[', jsonString(a.key), ',');
    pushValue(out, a.value);
    out.push(']');
  }
  out.push(']');
}

function encodeAttributes(attributes: readonly Attribute[]): string {
  const out: string[] = [];
  pushAttributes(out, attributes);
  return out.join('');
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

/**
 * True when the span's attributes can be read back from its `tags` text: no key holds `=` or the
 * separator, no string value the separator. Then the body does not repeat them (the common case:
 * the tags text is needed for search anyway); it keeps only the typed values of non-string ones.
 */
function attributesFitTags(attributes: readonly Attribute[]): boolean {
  for (const a of attributes) {
    if (a.key.includes('=') || a.key.includes(TAG_SEPARATOR)) return false;
    if (typeof a.value === 'string' && a.value.includes(TAG_SEPARATOR)) return false;
  }
  return true;
}

/**
 * The span fields not held in columns of their own, as JSON: `a` the attributes, or, when they fit
 * the tags text, `x` only the non-string ones as [position, typed value]; the rest when not empty.
 */
export function encodeSpanBody(s: Span): string {
  const out = ['{'];
  let fields = 0;
  const field = (name: string): void => {
    out.push(fields++ === 0 ? `"${name}":` : `,"${name}":`);
  };
  if (attributesFitTags(s.attributes)) {
    let typed = 0;
    s.attributes.forEach((a, i) => {
      if (typeof a.value === 'string') return;
      if (typed++ === 0) field('x');
      out.push(typed === 1 ? '[[' : ',[', String(i), ',');
      pushValue(out, a.value);
      out.push(']');
    });
    if (typed > 0) out.push(']');
  } else {
    field('a');
    pushAttributes(out, s.attributes);
  }
  if (s.traceState !== '') {
    field('ts');
    out.push(JSON.stringify(s.traceState));
  }
  if (s.flags !== 0) {
    field('f');
    out.push(String(s.flags));
  }
  if (s.droppedAttributesCount !== 0) {
    field('da');
    out.push(String(s.droppedAttributesCount));
  }
  if (s.events.length > 0) {
    field('e');
    out.push('[');
    s.events.forEach((e, i) => {
      out.push(i === 0 ? '["' : ',["', e.timeNs.toString(), '",', jsonString(e.name), ',');
      pushAttributes(out, e.attributes);
      out.push(',', String(e.droppedAttributesCount), ']');
    });
    out.push(']');
  }
  if (s.droppedEventsCount !== 0) {
    field('de');
    out.push(String(s.droppedEventsCount));
  }
  if (s.links.length > 0) {
    field('l');
    out.push('[');
    s.links.forEach((l, i) => {
      out.push(i === 0 ? '["' : ',["', l.traceId, '","', l.spanId, '",', JSON.stringify(l.traceState), ',', String(l.flags), ',');
      pushAttributes(out, l.attributes);
      out.push(',', String(l.droppedAttributesCount), ']');
    });
    out.push(']');
  }
  if (s.droppedLinksCount !== 0) {
    field('dl');
    out.push(String(s.droppedLinksCount));
  }
  out.push('}');
  return out.join('');
}

/** A span's attributes from its tags text (`\x1fspan.key=value\x1f…`) and the typed values of the non-string ones. */
function attributesFromTags(tags: string, typed: readonly [number, unknown][] | undefined): Attribute[] {
  const out: { key: string; value: AttributeValue }[] = [];
  for (const entry of tags.split(TAG_SEPARATOR)) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    out.push({ key: entry.slice('span.'.length, eq), value: entry.slice(eq + 1) });
  }
  for (const [i, v] of typed ?? []) {
    const a = out[i];
    if (a !== undefined) a.value = decodeValue(v);
  }
  return out;
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

/**
 * `key=value` entries of the tags column for one attribute list, each followed by the separator,
 * after `lead` (e.g. a leading separator), as one flat string.
 */
export function flattenTags(prefix: 'span.' | 'resource.', attributes: readonly Attribute[], lead = ''): string {
  const out = [lead];
  for (const a of attributes) {
    if (prefix === 'resource.' && a.key === 'service.name') continue;
    out.push(prefix, clean(a.key), '=', clean(attributeValueToString(a.value)), TAG_SEPARATOR);
  }
  return out.join('');
}

/** Decodes spans read with SPAN_SELECT_COLUMNS; spans of one origin share its resource and scope objects. */
export class SpanRowDecoder {
  private readonly decoded = new Map<bigint, { resource: SpanResource; scope: SpanScope }>();

  decode(row: readonly unknown[]): Span {
    const [traceHi, traceKey, spanKey, parentKey, startNs, endNs, service, name, kind, statusCode, statusMessage, requestId, bodyText, tags, originId, resourceText, scopeText] =
      row as [bigint, bigint, bigint, bigint, bigint, bigint, string, string, number, number, string | null, string | null, string, string, bigint, string, string];
    const body = JSON.parse(bodyText) as {
      a?: unknown;
      x?: [number, unknown][];
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
      spanId: hexOfInt64(spanKey),
      parentSpanId: parentKey === 0n ? '' : hexOfInt64(parentKey),
      traceState: body.ts ?? '',
      flags: body.f ?? 0,
      name,
      kind: kind as SpanKind,
      startNs,
      endNs,
      statusCode: statusCode as StatusCode,
      statusMessage: statusMessage ?? '',
      attributes: body.a === undefined ? attributesFromTags(tags, body.x) : decodeAttributes(body.a),
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
