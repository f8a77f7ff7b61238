/**
 * Sentry `transaction` items and streamed `span` items (v2, sent by @sentry/node 11) → spans, so
 * services instrumented only with a Sentry SDK still show up in traces. A transaction becomes the
 * root (or local root) span, from its trace context, and each entry of its `spans` a child.
 * Sentry's `op`, `data` and `tags` become attributes, its span status (`ok`, `internal_error`,
 * ...) the OTLP status; the project names the service.
 */
import {
  EMPTY_SCOPE,
  SpanKind,
  StatusCode,
  isValidHexId,
  type Attribute,
  type AttributeValue,
  type Span,
  type SpanResource,
} from '../model/span.js';
import { EnvelopeError } from './envelope.js';
import { parseTimestampMs } from './normalize.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_SPANS = 1000;

function attributeValue(v: unknown): AttributeValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (v === null || v === undefined) return null;
  return JSON.stringify(v);
}

function attributes(...sources: unknown[]): Attribute[] {
  const out: Attribute[] = [];
  for (const src of sources) if (isObject(src)) for (const [key, value] of Object.entries(src)) out.push({ key, value: attributeValue(value) });
  return out;
}

function kindOf(op: string): SpanKind {
  if (op === 'http.server' || op.startsWith('function.')) return SpanKind.SERVER;
  if (op === 'http.client' || op.startsWith('db') || op.startsWith('cache')) return SpanKind.CLIENT;
  return SpanKind.INTERNAL;
}

function statusOf(status: unknown): { code: StatusCode; message: string } {
  if (typeof status !== 'string' || status === '' || status === 'unknown') return { code: StatusCode.UNSET, message: '' };
  return status === 'ok' ? { code: StatusCode.OK, message: '' } : { code: StatusCode.ERROR, message: status };
}

function timeNs(v: unknown, what: string): bigint {
  const ms = parseTimestampMs(v);
  if (ms === null) throw new EnvelopeError(`${what}: expected a timestamp (seconds since the epoch or RFC 3339)`);
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** Converts one transaction payload (already scrubbed); `what` names the item in error messages. */
export function transactionToSpans(tx: Json, service: string, what: string): Span[] {
  const contexts = isObject(tx.contexts) ? tx.contexts : {};
  const trace = contexts.trace;
  if (!isObject(trace)) throw new EnvelopeError(`${what}: a transaction needs contexts.trace`);
  const traceId = typeof trace.trace_id === 'string' ? trace.trace_id.toLowerCase() : '';
  const rootId = typeof trace.span_id === 'string' ? trace.span_id.toLowerCase() : '';
  if (!isValidHexId(traceId, 32)) throw new EnvelopeError(`${what}: contexts.trace.trace_id must be 32 hex digits`);
  if (!isValidHexId(rootId, 16)) throw new EnvelopeError(`${what}: contexts.trace.span_id must be 16 hex digits`);
  const resourceAttributes: Attribute[] = [{ key: 'service.name', value: service }];
  if (typeof tx.release === 'string' && tx.release !== '') resourceAttributes.push({ key: 'service.version', value: tx.release });
  if (typeof tx.environment === 'string' && tx.environment !== '') resourceAttributes.push({ key: 'deployment.environment.name', value: tx.environment });
  const sdk = isObject(tx.sdk) ? tx.sdk : {};
  if (typeof sdk.name === 'string') resourceAttributes.push({ key: 'telemetry.sdk.name', value: sdk.name });
  const resource: SpanResource = { attributes: resourceAttributes, droppedAttributesCount: 0 };
  const scope = { ...EMPTY_SCOPE, name: typeof sdk.name === 'string' ? sdk.name : 'sentry', version: typeof sdk.version === 'string' ? sdk.version : '' };
  const make = (s: Json, isRoot: boolean, index: number): Span => {
    const where = isRoot ? what : `${what} span ${index}`;
    const spanId = isRoot ? rootId : typeof s.span_id === 'string' ? s.span_id.toLowerCase() : '';
    if (!isValidHexId(spanId, 16)) throw new EnvelopeError(`${where}: span_id must be 16 hex digits`);
    const parent = typeof s.parent_span_id === 'string' ? s.parent_span_id.toLowerCase() : '';
    const op = typeof s.op === 'string' ? s.op : '';
    const startNs = timeNs(isRoot ? tx.start_timestamp : s.start_timestamp, `${where} start_timestamp`);
    const endNs = timeNs(isRoot ? tx.timestamp : s.timestamp, `${where} timestamp`);
    const status = statusOf(s.status);
    const name = isRoot ? (typeof tx.transaction === 'string' && tx.transaction !== '' ? tx.transaction : op || 'transaction') : String(s.description ?? '') || op || 'span';
    const attrs = attributes(isRoot ? tx.tags : s.tags, s.data);
    if (op !== '') attrs.push({ key: 'sentry.op', value: op });
    return {
      traceId,
      spanId,
      parentSpanId: isValidHexId(parent, 16) ? parent : '',
      traceState: '',
      flags: 1,
      name,
      kind: kindOf(op),
      startNs,
      endNs,
      statusCode: status.code,
      statusMessage: status.message,
      attributes: attrs,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      resource,
      scope,
      service,
      requestId: '',
    };
  };
  const spans = [make(trace, true, 0)];
  const children = Array.isArray(tx.spans) ? tx.spans.slice(0, MAX_SPANS) : [];
  children.forEach((s, i) => {
    if (!isObject(s)) throw new EnvelopeError(`${what} span ${i + 1}: must be an object`);
    spans.push(make(s, false, i + 1));
  });
  return spans;
}

/** The value of a v2 span attribute (`{value, type}`). */
function typedAttributeValue(v: unknown): AttributeValue {
  if (isObject(v) && 'value' in v) {
    const value = v.value;
    if (Array.isArray(value)) return value.map(attributeValue);
    if (v.type === 'integer' && typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    return attributeValue(value);
  }
  return attributeValue(v);
}

/** Converts a streamed span item (`{"version": 2, "items": [...]}`). */
export function spanItemsToSpans(payload: Json, service: string, what: string): Span[] {
  if (!Array.isArray(payload.items)) throw new EnvelopeError(`${what}: "items" must be a list of spans`);
  const out: Span[] = [];
  payload.items.slice(0, MAX_SPANS).forEach((raw, i) => {
    const where = `${what} span ${i + 1}`;
    if (!isObject(raw)) throw new EnvelopeError(`${where}: must be an object`);
    const traceId = typeof raw.trace_id === 'string' ? raw.trace_id.toLowerCase() : '';
    const spanId = typeof raw.span_id === 'string' ? raw.span_id.toLowerCase() : '';
    if (!isValidHexId(traceId, 32)) throw new EnvelopeError(`${where}: trace_id must be 32 hex digits`);
    if (!isValidHexId(spanId, 16)) throw new EnvelopeError(`${where}: span_id must be 16 hex digits`);
    const parent = typeof raw.parent_span_id === 'string' ? raw.parent_span_id.toLowerCase() : '';
    const attrs: Attribute[] = isObject(raw.attributes) ? Object.entries(raw.attributes).map(([key, v]) => ({ key, value: typedAttributeValue(v) })) : [];
    const text = (key: string): string => {
      const v = attrs.find((a) => a.key === key)?.value;
      return typeof v === 'string' ? v : '';
    };
    const op = text('sentry.op');
    const resourceAttributes: Attribute[] = [{ key: 'service.name', value: service }];
    if (text('sentry.release') !== '') resourceAttributes.push({ key: 'service.version', value: text('sentry.release') });
    if (text('sentry.environment') !== '') resourceAttributes.push({ key: 'deployment.environment.name', value: text('sentry.environment') });
    const status = statusOf(raw.status);
    out.push({
      traceId,
      spanId,
      parentSpanId: isValidHexId(parent, 16) ? parent : '',
      traceState: '',
      flags: 1,
      name: typeof raw.name === 'string' && raw.name !== '' ? raw.name : op || 'span',
      kind: kindOf(op),
      startNs: timeNs(raw.start_timestamp, `${where} start_timestamp`),
      endNs: timeNs(raw.end_timestamp, `${where} end_timestamp`),
      statusCode: status.code,
      statusMessage: status.message,
      attributes: attrs,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      resource: { attributes: resourceAttributes, droppedAttributesCount: 0 },
      scope: { ...EMPTY_SCOPE, name: text('sentry.sdk.name') || 'sentry', version: text('sentry.sdk.version') },
      service,
      requestId: '',
    });
  });
  return out;
}
