/**
 * The contract between trace storage backends (the embedded DuckDB signal store now, ClickHouse
 * later) and everything that writes or reads spans: OTLP ingest, the Tempo API and correlation.
 * Times are nanoseconds since the epoch (bigint); ranges are [startNs, endNs) over span start.
 * Regular expressions follow RE2 syntax and are fully anchored (as TraceQL's are).
 */
import type { Span } from '../model/span.js';

/** A span field a condition reads. */
export type SpanField =
  | { readonly kind: 'intrinsic'; readonly name: 'name' | 'status' | 'kind' | 'duration' | 'service' | 'statusMessage' }
  /** `scope` 'any' matches the span's attribute or, failing that, the resource's (TraceQL `.key`). */
  | { readonly kind: 'attribute'; readonly scope: 'span' | 'resource' | 'any'; readonly key: string };

export type ComparisonOp = '=' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~';

/**
 * A predicate over one span. Values: numbers compare numerically (durations in ns, status and
 * kind as their OTLP enum numbers), strings as text, booleans as "true"/"false".
 */
export type SpanCondition =
  | { readonly op: 'and' | 'or'; readonly left: SpanCondition; readonly right: SpanCondition }
  | { readonly op: 'cmp'; readonly field: SpanField; readonly cmp: ComparisonOp; readonly value: string | number | boolean }
  /** True when the attribute exists (TraceQL `.key != nil`). */
  | { readonly op: 'exists'; readonly field: SpanField & { readonly kind: 'attribute' } };

export interface TraceSearchQuery {
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Traces with at least one span (starting in range) matching this; null matches every span. */
  readonly condition: SpanCondition | null;
  /** Bounds on the whole trace's duration (last end minus first start), ns, inclusive. */
  readonly minDurationNs?: bigint;
  readonly maxDurationNs?: bigint;
  /** Most traces returned, most recent first. */
  readonly limit: number;
  /** Matching spans listed per trace (Tempo's spss). */
  readonly spansPerTrace: number;
}

/** A span that matched a search condition. */
export interface MatchedSpan {
  readonly spanId: string;
  readonly name: string;
  readonly service: string;
  readonly startNs: bigint;
  readonly durationNs: bigint;
}

/** What a trace list shows per trace. */
export interface TraceSummary {
  readonly traceId: string;
  /** Service and name of the root span (the earliest span when the root has not arrived). */
  readonly rootService: string;
  readonly rootName: string;
  /** False when no span without a parent has been received. */
  readonly hasRoot: boolean;
  readonly startNs: bigint;
  readonly durationNs: bigint;
  readonly spanCount: number;
  readonly errorCount: number;
  /** Services involved with their span and error counts, by name. */
  readonly services: readonly { readonly service: string; readonly spanCount: number; readonly errorCount: number }[];
  /** Request ids carried by the trace's spans. */
  readonly requestIds: readonly string[];
  /** Spans that matched the search (empty outside search), earliest first. */
  readonly matched: readonly MatchedSpan[];
  /** How many spans matched the search in total. */
  readonly matchedCount: number;
}

/** A service and the operations (span names by kind) it reported. */
export interface ServiceOperations {
  readonly service: string;
  readonly operations: readonly { readonly name: string; readonly kind: number; readonly spanCount: number }[];
}

/** Span and resource attribute names seen, by scope. */
export interface TagNames {
  readonly span: readonly string[];
  readonly resource: readonly string[];
}

export interface TraceStoreStats {
  readonly spans: number;
  readonly traces: number;
}

/** Storage of spans. Implementations are safe for concurrent use. */
export interface TraceStore {
  /**
   * Appends spans; resolves once durable. Rejects with StoreOverloadedError (retry later) when the
   * write queue is full and with StoreClosedError after close.
   */
  append(spans: readonly Span[]): Promise<void>;
  /** Every stored span of a trace, ordered by start time; empty when unknown. */
  trace(traceId: string): Promise<Span[]>;
  /** Summaries of traces with a span matching the query, most recent first. */
  search(query: TraceSearchQuery): Promise<TraceSummary[]>;
  /** Summaries of the given traces (unknown ids are left out). */
  summaries(traceIds: readonly string[]): Promise<TraceSummary[]>;
  /** Ids of traces with a span carrying this request id, most recent first. */
  traceIdsByRequestId(requestId: string, startNs: bigint, endNs: bigint, limit: number): Promise<string[]>;
  /** Attribute names in the range, sorted. */
  tagNames(startNs: bigint, endNs: bigint): Promise<TagNames>;
  /** Distinct values of a field in the range, sorted, at most `limit`. */
  tagValues(field: SpanField, startNs: bigint, endNs: bigint, limit: number): Promise<string[]>;
  /** Services and their operations in the range, sorted by name. */
  services(startNs: bigint, endNs: bigint): Promise<ServiceOperations[]>;
  stats(): Promise<TraceStoreStats>;
}
