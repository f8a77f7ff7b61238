/**
 * The span table. One row per span, appended in arrival order, so start_ns is nearly sorted and
 * DuckDB's zone maps skip row groups outside a search's time range.
 *
 * trace_key holds the low 64 bits of the trace id (W3C trace ids are random there); request_hash
 * does the same for request ids: lookups compare a BIGINT, then re-check the text. `tags` flattens
 * span attributes as `\x1fspan.key=value\x1f…` for attribute search inside DuckDB; `body` keeps
 * everything else as JSON (span-codec.ts) so a trace reads back exactly as it was sent; the
 * resource and scope are in span_origins.
 */
import type { TableSchema } from '../table-schema.js';

export const SPANS_TABLE: TableSchema = {
  name: 'spans',
  columns: [
    { name: 'trace_key', kind: 'bigint' },
    { name: 'trace_id', kind: 'varchar' },
    { name: 'span_id', kind: 'varchar' },
    { name: 'parent_span_id', kind: 'varchar' },
    { name: 'start_ns', kind: 'bigint' },
    { name: 'end_ns', kind: 'bigint' },
    { name: 'duration_ns', kind: 'bigint' },
    { name: 'service', kind: 'varchar' },
    { name: 'name', kind: 'varchar' },
    { name: 'kind', kind: 'utinyint' },
    { name: 'status_code', kind: 'utinyint' },
    { name: 'status_message', kind: 'varchar' },
    { name: 'request_id', kind: 'varchar' },
    { name: 'request_hash', kind: 'bigint' },
    { name: 'tags', kind: 'varchar' },
    { name: 'body', kind: 'varchar' },
    { name: 'origin_id', kind: 'bigint' },
  ],
  migrations: [
    `CREATE TABLE spans (
      trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR NOT NULL,
      start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, service VARCHAR NOT NULL,
      name VARCHAR NOT NULL, kind UTINYINT NOT NULL, status_code UTINYINT NOT NULL, status_message VARCHAR NOT NULL,
      request_id VARCHAR NOT NULL, request_hash BIGINT NOT NULL, tags VARCHAR NOT NULL, body VARCHAR NOT NULL,
      origin_id BIGINT NOT NULL)`,
  ],
  timeColumn: 'start_ns',
};

/**
 * The producers of spans: one row per distinct (resource, instrumentation scope), written once, the
 * first time it is seen, in the same commit as its first spans. Spans refer to it by origin_id
 * (a 53-bit hash of the two JSON texts), so a producer's resource is neither stored nor scanned
 * once per span. A row may be written twice by concurrent first writes; readers take any one.
 * Rows are few and kept (no time column).
 */
export const SPAN_ORIGINS_TABLE: TableSchema = {
  name: 'span_origins',
  columns: [
    { name: 'origin_id', kind: 'bigint' },
    { name: 'resource', kind: 'varchar' },
    { name: 'scope', kind: 'varchar' },
    { name: 'tags', kind: 'varchar' },
  ],
  migrations: ['CREATE TABLE span_origins (origin_id BIGINT NOT NULL, resource VARCHAR NOT NULL, scope VARCHAR NOT NULL, tags VARCHAR NOT NULL)'],
  timeColumn: null,
};

/**
 * One row per trace per write: where in time its spans of that write lie. Much smaller than the
 * span table (a write carries several spans of a trace), it turns a trace-by-id lookup into a scan
 * of this table plus a read of the few span row groups whose start_ns zone maps cover the range,
 * and gives trace durations for search without touching the spans. Kept while any of its spans
 * may be: retention deletes by max_start_ns.
 */
export const TRACE_INDEX_TABLE: TableSchema = {
  name: 'trace_index',
  columns: [
    { name: 'trace_key', kind: 'bigint' },
    { name: 'trace_id', kind: 'varchar' },
    { name: 'min_start_ns', kind: 'bigint' },
    { name: 'max_start_ns', kind: 'bigint' },
    { name: 'max_end_ns', kind: 'bigint' },
  ],
  migrations: [
    `CREATE TABLE trace_index (
      trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, min_start_ns BIGINT NOT NULL, max_start_ns BIGINT NOT NULL, max_end_ns BIGINT NOT NULL)`,
  ],
  timeColumn: 'max_start_ns',
};

/**
 * The columns span-codec.ts reads back into a Span, in this order: the span's own, then its
 * origin's resource and scope (FROM SPANS_WITH_ORIGINS).
 */
export const SPAN_SELECT_COLUMNS =
  's.trace_id, s.span_id, s.parent_span_id, s.start_ns, s.end_ns, s.service, s.name, s.kind, s.status_code, s.status_message, s.request_id, s.body, s.origin_id, o.resource, o.scope';

/** Spans `s` joined with their origins `o` (one row per origin, whichever copy). */
export const SPANS_WITH_ORIGINS =
  'spans s JOIN (SELECT origin_id, any_value(resource) AS resource, any_value(scope) AS scope FROM span_origins GROUP BY origin_id) o ON s.origin_id = o.origin_id';

/** Separates entries of the `tags` column; stripped from keys and values when flattening. */
export const TAG_SEPARATOR = '\x1f';

/** The trace_key of a 32-digit hex trace id: its low 64 bits as a signed BIGINT. */
export function traceKeyOf(traceId: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${traceId.slice(16)}`));
}
