/**
 * The span table. One row per span, appended in arrival order, so start_ns is nearly sorted and
 * DuckDB's zone maps skip row groups outside a search's time range.
 *
 * Ids are numbers, not text: trace_key and trace_hi hold the low and high 64 bits of the trace id
 * (W3C trace ids are random in the low half, so lookups filter on trace_key first), span_key and
 * parent_key the span ids (0: no parent), each an id's bytes read big-endian as a signed BIGINT.
 * Numeric columns are written in bulk, a text column costs a call per value, and they take half
 * the bytes. request_hash is a 53-bit hash of the request id for the same reason (lookups compare
 * it, then re-check the text). status_message and request_id are NULL when empty (most spans).
 * `tags` flattens span attributes as `\x1fspan.key=value\x1f…` for attribute search inside
 * DuckDB; `body` keeps everything else as JSON (span-codec.ts), including the types of non-string
 * attributes, so a trace reads back exactly as it was sent; the resource and scope are in
 * span_origins.
 */
import { hexOfInt64, int64OfHex } from '../hex-id-columns.js';
import type { TableSchema } from '../table-schema.js';

const SPANS_V1 = `CREATE TABLE spans (
      trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR NOT NULL,
      start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, service VARCHAR NOT NULL,
      name VARCHAR NOT NULL, kind UTINYINT NOT NULL, status_code UTINYINT NOT NULL, status_message VARCHAR NOT NULL,
      request_id VARCHAR NOT NULL, request_hash BIGINT NOT NULL, tags VARCHAR NOT NULL, body VARCHAR NOT NULL,
      origin_id BIGINT NOT NULL)`;

/** SQL of the signed BIGINT of 16 hex digits of `text` from position `from` (1-based): version 1 rows to version 2. */
const hexKeySql = (text: string, from: number): string => `CAST(CAST(CAST('0x' || substr(${text}, ${from}, 16) AS UBIGINT) AS BIT) AS BIGINT)`;

export const SPANS_TABLE: TableSchema = {
  name: 'spans',
  columns: [
    { name: 'trace_key', kind: 'bigint' },
    { name: 'trace_hi', kind: 'bigint' },
    { name: 'span_key', kind: 'bigint' },
    { name: 'parent_key', kind: 'bigint' },
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
    SPANS_V1,
    // Version 2: numeric ids, NULL for empty status messages and request ids (rows copied over).
    `CREATE TABLE spans_v2 (
      trace_key BIGINT NOT NULL, trace_hi BIGINT NOT NULL, span_key BIGINT NOT NULL, parent_key BIGINT NOT NULL,
      start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, duration_ns BIGINT NOT NULL, service VARCHAR NOT NULL,
      name VARCHAR NOT NULL, kind UTINYINT NOT NULL, status_code UTINYINT NOT NULL, status_message VARCHAR,
      request_id VARCHAR, request_hash BIGINT NOT NULL, tags VARCHAR NOT NULL, body VARCHAR NOT NULL,
      origin_id BIGINT NOT NULL)`,
    `INSERT INTO spans_v2 SELECT trace_key, ${hexKeySql('trace_id', 1)}, ${hexKeySql('span_id', 1)},
      CASE WHEN parent_span_id = '' THEN 0 ELSE ${hexKeySql('parent_span_id', 1)} END, start_ns, end_ns, duration_ns, service, name, kind,
      status_code, nullif(status_message, ''), nullif(request_id, ''), request_hash, tags, body, origin_id FROM spans`,
    'DROP TABLE spans',
    'ALTER TABLE spans_v2 RENAME TO spans',
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
    { name: 'trace_hi', kind: 'bigint' },
    { name: 'min_start_ns', kind: 'bigint' },
    { name: 'max_start_ns', kind: 'bigint' },
    { name: 'max_end_ns', kind: 'bigint' },
  ],
  migrations: [
    `CREATE TABLE trace_index (
      trace_key BIGINT NOT NULL, trace_id VARCHAR NOT NULL, min_start_ns BIGINT NOT NULL, max_start_ns BIGINT NOT NULL, max_end_ns BIGINT NOT NULL)`,
    // Version 2: the high half of the trace id as a number, like the span table's.
    `CREATE TABLE trace_index_v2 (
      trace_key BIGINT NOT NULL, trace_hi BIGINT NOT NULL, min_start_ns BIGINT NOT NULL, max_start_ns BIGINT NOT NULL, max_end_ns BIGINT NOT NULL)`,
    `INSERT INTO trace_index_v2 SELECT trace_key, ${hexKeySql('trace_id', 1)}, min_start_ns, max_start_ns, max_end_ns FROM trace_index`,
    'DROP TABLE trace_index',
    'ALTER TABLE trace_index_v2 RENAME TO trace_index',
  ],
  timeColumn: 'max_start_ns',
};

/**
 * The columns span-codec.ts reads back into a Span, in this order: the span's own, then its
 * origin's resource and scope (FROM SPANS_WITH_ORIGINS).
 */
export const SPAN_SELECT_COLUMNS =
  's.trace_hi, s.trace_key, s.span_key, s.parent_key, s.start_ns, s.end_ns, s.service, s.name, s.kind, s.status_code, s.status_message, s.request_id, s.body, s.tags, s.origin_id, o.resource, o.scope';

/** Spans `s` joined with their origins `o` (one row per origin, whichever copy). */
export const SPANS_WITH_ORIGINS =
  'spans s JOIN (SELECT origin_id, any_value(resource) AS resource, any_value(scope) AS scope FROM span_origins GROUP BY origin_id) o ON s.origin_id = o.origin_id';

/** ORDER BY terms putting spans of equal start time in the order of their hex span ids (unsigned, not signed BIGINT order). */
export const SPAN_ID_ORDER = 'span_key < 0, span_key';

/** Separates entries of the `tags` column; stripped from keys and values when flattening. */
export const TAG_SEPARATOR = '\x1f';

/** A trace id as its two BIGINT columns. */
export interface TraceKey {
  /** The low 64 bits (hex digits 17–32), signed: the trace_key column. */
  readonly key: bigint;
  /** The high 64 bits (hex digits 1–16), signed: the trace_hi column. */
  readonly hi: bigint;
}

/** The trace_key and trace_hi of a 32-digit hex trace id. */
export function traceKeyOf(traceId: string): TraceKey {
  return { key: int64OfHex(traceId.slice(16)), hi: int64OfHex(traceId.slice(0, 16)) };
}

/** The 32-digit hex trace id of its two columns. */
export function traceIdOf(hi: bigint, key: bigint): string {
  return hexOfInt64(hi) + hexOfInt64(key);
}
