/**
 * What the OTLP trace decoders (protobuf and JSON) produce, and the checks both apply to each
 * span. Invalid spans are dropped and counted, so the valid rest of a request is kept and the
 * client is told through OTLP's partial success (rejected_spans, error_message).
 */
import { Rejections } from '../rejections.js';
import {
  type Attribute,
  type Span,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type SpanResource,
  type SpanScope,
  type StatusCode,
  isValidHexId,
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
}

/** The fields of one span as decoded, before validation. */
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
}

export function newRawSpan(): RawSpan {
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
  };
}

/**
 * Validates a decoded span and appends it to `out`, or counts it in `rejections` with a message
 * naming the span's position (`where`).
 */
export function acceptSpan(
  raw: RawSpan,
  resource: SpanResource,
  scope: SpanScope,
  service: string,
  where: string,
  opts: TraceDecodeOptions,
  out: Span[],
  rejections: Rejections,
): void {
  let problem: string | null = null;
  if (!isValidHexId(raw.traceId, 32)) problem = `${where}: trace id must be 16 bytes and not all zero, got "${raw.traceId}"`;
  else if (!isValidHexId(raw.spanId, 16)) problem = `${where}: span id must be 8 bytes and not all zero, got "${raw.spanId}"`;
  else if (raw.parentSpanId !== '' && raw.parentSpanId.length !== 16) problem = `${where}: parent span id must be 8 bytes or empty`;
  else if (raw.kind > 5) problem = `${where}: unknown span kind ${raw.kind}`;
  else if (raw.statusCode > 2) problem = `${where}: unknown status code ${raw.statusCode}`;
  else if (raw.startNs === 0n) problem = `${where}: start time is missing`;
  if (problem !== null) {
    rejections.add('invalid_span', 1, problem);
    return;
  }
  out.push({
    traceId: raw.traceId,
    spanId: raw.spanId,
    parentSpanId: raw.parentSpanId,
    traceState: raw.traceState,
    flags: raw.flags,
    name: raw.name,
    kind: raw.kind as SpanKind,
    startNs: raw.startNs,
    // A span that never ended is stored as instantaneous rather than with a negative duration.
    endNs: raw.endNs === 0n ? raw.startNs : raw.endNs,
    statusCode: raw.statusCode as StatusCode,
    statusMessage: raw.statusMessage,
    attributes: raw.attributes,
    droppedAttributesCount: raw.droppedAttributesCount,
    events: raw.events,
    droppedEventsCount: raw.droppedEventsCount,
    links: raw.links,
    droppedLinksCount: raw.droppedLinksCount,
    resource,
    scope,
    service,
    requestId: requestIdOf(raw.attributes, opts.requestIdAttributes),
  });
}
