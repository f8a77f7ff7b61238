/**
 * The span table. One row per span, appended in arrival order, so start_ns is nearly sorted and
 * DuckDB's zone maps skip row groups outside a search's time range.
 *
 * trace_key holds the low 64 bits of the trace id (W3C trace ids are random there), so fetching a
 * trace scans one BIGINT column and re-checks trace_id; request_hash does the same for request ids.
 * `tags` flattens span and resource attributes as `\x1fspan.key=value\x1fresource.key=value\x1f`
 * for attribute search inside DuckDB; `body`, `resource` and `scope` keep everything else as JSON
 * (span-codec.ts) so a trace reads back exactly as it was sent.
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
    { name: 'resource', kind: 'varchar' },
    { name: 'scope', kind: 'varchar' },
  ],
  migrations: [
    `CREATE TABLE spans (
      trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR NOT NULL,
      start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, service VARCHAR NOT NULL,
      name VARCHAR NOT NULL, kind UTINYINT NOT NULL, status_code UTINYINT NOT NULL, status_message VARCHAR NOT NULL,
      request_id VARCHAR NOT NULL, request_hash BIGINT NOT NULL, tags VARCHAR NOT NULL, body VARCHAR NOT NULL,
      resource VARCHAR NOT NULL, scope VARCHAR NOT NULL)`,
  ],
  timeColumn: 'start_ns',
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

/** The columns span-codec.ts reads back into a Span, in this order. */
export const SPAN_SELECT_COLUMNS =
  'trace_id, span_id, parent_span_id, start_ns, end_ns, service, name, kind, status_code, status_message, request_id, body, resource, scope';

/** Separates entries of the `tags` column; stripped from keys and values when flattening. */
export const TAG_SEPARATOR = '\x1f';

/** The trace_key of a 32-digit hex trace id: its low 64 bits as a signed BIGINT. */
export function traceKeyOf(traceId: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${traceId.slice(16)}`));
}
