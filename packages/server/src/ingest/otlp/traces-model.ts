/**
 * What the OTLP trace decoders (protobuf and JSON) produce, and the checks both apply to each
 * span. Invalid spans are dropped and counted, so the valid rest of a request is kept and the
 * client is told through OTLP's partial success (rejected_spans, error_message).
 */
import type { StringInterner } from '../protobuf/string-interner.js';
import { Rejections } from '../rejections.js';
import {
  type Attribute,
  type Span,
  type SpanEvent,
  type SpanLink,
  type SpanResource,
  type SpanScope,
  requestIdOf,
} from '../../model/span.js';

/** Decoded spans plus the tally of spans dropped as invalid. */
export interface DecodedTraces {
  readonly spans: Span[];
  readonly rejections: Rejections;
}

export interface TraceDecodeOptions {
  /** Attribute names that carry a request id, tried in order. */
  readonly requestIdAttributes: readonly string[];
  /** Cache of short strings (attribute keys, span and service names) shared across protobuf requests. */
  readonly interner?: StringInterner;
}

/**
 * One span as decoded, before validation: the Span itself, mutable while its fields are read, so
 * a valid span is stored without a copy.
 */
export interface RawSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  statusMessage: string;
  attributes: Attribute[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  resource: SpanResource;
  scope: SpanScope;
  service: string;
  requestId: string;
}

/** An empty span of the producer (resource, scope, service); every field assigned, so all spans share one shape. */
export function newRawSpan(resource: SpanResource, scope: SpanScope, service: string): RawSpan {
  return {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: '',
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    statusCode: 0,
    statusMessage: '',
    attributes: [],
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
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Both decoders produce lowercase hex ids (checked digit by digit in JSON): only length and zero remain. */
function isNonZeroId(id: string, zero: string): boolean {
  return id.length === zero.length && id !== zero;
}

/**
 * Validates a decoded span and appends it to `out`, or counts it in `rejections` with a message
 * naming the span's position (`where`, e.g. `resourceSpans[0].scopeSpans[1]`, and `index`).
 */
export function acceptSpan(raw: RawSpan, where: string, index: number, opts: TraceDecodeOptions, out: Span[], rejections: Rejections): void {
  let problem: string | null = null;
  if (!isNonZeroId(raw.traceId, ZERO_TRACE_ID)) problem = `trace id must be 16 bytes and not all zero, got "${raw.traceId}"`;
  else if (!isNonZeroId(raw.spanId, ZERO_SPAN_ID)) problem = `span id must be 8 bytes and not all zero, got "${raw.spanId}"`;
  else if (raw.parentSpanId !== '' && raw.parentSpanId.length !== 16) problem = 'parent span id must be 8 bytes or empty';
  else if (raw.kind > 5) problem = `unknown span kind ${raw.kind}`;
  else if (raw.statusCode > 2) problem = `unknown status code ${raw.statusCode}`;
  else if (raw.startNs === 0n) problem = 'start time is missing';
  if (problem !== null) {
    rejections.add('invalid_span', 1, `${where}.spans[${index}]: ${problem}`);
    return;
  }
  // A span that never ended is stored as instantaneous rather than with a negative duration.
  if (raw.endNs === 0n) raw.endNs = raw.startNs;
  raw.requestId = requestIdOf(raw.attributes, opts.requestIdAttributes);
  out.push(raw as Span);
}
