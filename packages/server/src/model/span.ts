/**
 * The span vocabulary shared by trace ingestion (OTLP), the trace store, the Tempo API and the
 * span-derived metrics. It mirrors OTLP's Span closely so a trace round-trips without loss.
 * Times are nanoseconds since the Unix epoch in a bigint: OTLP carries fixed64 nanoseconds and the
 * store's BIGINT columns take bigints, so no conversion happens on the ingest path.
 * Ids are lowercase hex: trace 32 digits, span 16 digits, '' when absent. Depends on nothing.
 */

/** An attribute value as OTLP's AnyValue: int64 as an exact bigint, double as number, null when empty. */
export type AttributeValue = string | boolean | number | bigint | Uint8Array | readonly AttributeValue[] | AttributeList | null;

/** A key/value list value (AnyValue.kvlist_value), kept distinct from arrays. */
export interface AttributeList {
  readonly values: readonly Attribute[];
}

export interface Attribute {
  readonly key: string;
  readonly value: AttributeValue;
}

/** OTLP Span.SpanKind numbers. */
export const SpanKind = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** The proto enum names by number, as Tempo's metrics and OTLP/JSON name them. */
export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;

/** OTLP Status.StatusCode numbers. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

export interface SpanEvent {
  readonly timeNs: bigint;
  readonly name: string;
  readonly attributes: readonly Attribute[];
  readonly droppedAttributesCount: number;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly flags: number;
  readonly attributes: readonly Attribute[];
  readonly droppedAttributesCount: number;
}

/** The producer of spans: shared (by reference) by every span of one OTLP ResourceSpans. */
export interface SpanResource {
  readonly attributes: readonly Attribute[];
  readonly droppedAttributesCount: number;
}

/** The instrumentation library: shared by every span of one OTLP ScopeSpans. */
export interface SpanScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly Attribute[];
}

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  /** W3C trace flags and OTLP's has-parent-is-remote bits (Span.flags). */
  readonly flags: number;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly statusCode: StatusCode;
  readonly statusMessage: string;
  readonly attributes: readonly Attribute[];
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly SpanLink[];
  readonly droppedLinksCount: number;
  readonly resource: SpanResource;
  readonly scope: SpanScope;
  /** The resource's service.name, or UNKNOWN_SERVICE_NAME. */
  readonly service: string;
  /** The request id carried by an attribute (see requestIdOf), '' when none. */
  readonly requestId: string;
}

/** The service name OpenTelemetry SDKs report when none is configured. */
export const UNKNOWN_SERVICE_NAME = 'unknown_service';

/** The attributes that carry a request id, in order of preference, when none is configured. */
export const DEFAULT_REQUEST_ID_ATTRIBUTES: readonly string[] = ['http.request.header.x-request-id', 'request_id'];

/** The name of the OpenTelemetry exception event (semantic conventions). */
export const EXCEPTION_EVENT_NAME = 'exception';

const EMPTY_ATTRIBUTES: readonly Attribute[] = [];

export const EMPTY_SCOPE: SpanScope = { name: '', version: '', attributes: EMPTY_ATTRIBUTES };

/** The first attribute named `key`, or undefined. */
export function findAttribute(attributes: readonly Attribute[], key: string): AttributeValue | undefined {
  for (const a of attributes) if (a.key === key) return a.value;
  return undefined;
}

/** The service.name of a resource, or UNKNOWN_SERVICE_NAME when absent or empty. */
export function serviceNameOf(resource: SpanResource): string {
  const v = findAttribute(resource.attributes, 'service.name');
  return typeof v === 'string' && v !== '' ? v : UNKNOWN_SERVICE_NAME;
}

/**
 * The request id among the span's attributes, trying `names` in order. A string value is taken
 * as is; an array (HTTP header attributes are string arrays) yields its first string element.
 */
export function requestIdOf(attributes: readonly Attribute[], names: readonly string[]): string {
  for (const name of names) {
    const v = findAttribute(attributes, name);
    if (typeof v === 'string' && v !== '') return v;
    if (Array.isArray(v)) {
      const first: unknown = v[0];
      if (typeof first === 'string' && first !== '') return first;
    }
  }
  return '';
}

/** An attribute value as text (Tempo's search and label rendering): arrays and lists as JSON. */
export function attributeValueToString(v: AttributeValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  if (typeof v === 'boolean' || typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(attributeValueToPlain(v));
}

function attributeValueToPlain(v: AttributeValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (isAttributeArray(v)) return v.map(attributeValueToPlain);
  return Object.fromEntries(v.values.map((kv) => [kv.key, attributeValueToPlain(kv.value)]));
}

/** Narrows an array value (Array.isArray does not narrow readonly arrays). */
export function isAttributeArray(v: AttributeValue): v is readonly AttributeValue[] {
  return Array.isArray(v);
}

/** A span's duration in nanoseconds; negative durations (clock skew) count as zero, as Tempo does. */
export function spanDurationNs(span: Pick<Span, 'startNs' | 'endNs'>): bigint {
  return span.endNs > span.startNs ? span.endNs - span.startNs : 0n;
}

const HEX_RE = /^[0-9a-f]*$/;

/** True for a valid id in this vocabulary: `digits` lowercase hex digits, not all zero. */
export function isValidHexId(id: string, digits: 32 | 16): boolean {
  return id.length === digits && HEX_RE.test(id) && !/^0+$/.test(id);
}
