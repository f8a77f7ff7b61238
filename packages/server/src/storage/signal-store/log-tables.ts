/**
 * The log tables. Lines go to `logs` in arrival order, so the time and seq columns are nearly
 * sorted and DuckDB's per-row-group min/max (zone maps) skip row groups outside a query's range.
 * Request and trace ids get 53-bit hash columns (BIGINT: stored bit-packed, scanned far faster
 * than DOUBLE's ALP encoding): an exact-id lookup scans one 8-byte column, then re-checks the text
 * of the hits. Label sets and resources repeat across lines, so they live in small side tables
 * (`log_streams`, `log_resources`) keyed by sequential integer ids and held in memory, as Loki's
 * index is. Optional text columns are NULL when empty: DuckDB stores NULLs in
 * a validity mask, and the writer skips a native call per empty value. For the same reason the
 * `level` column holds a line's level only when its severity number does not imply it (NULL
 * stands for "trace" at 1-4 up to "fatal" at 21-24, and '' at 0), and the hash columns hold 0
 * for an absent id. W3C trace and span ids (lowercase hex, 32 and 16 digits, not all zero) are
 * stored as 64-bit integers, `trace_hi`/`trace_lo` and `span_bits`, 0 when absent: random hex
 * text does not compress, and cost DuckDB more to write and checkpoint than the rest of a line
 * together. Other id forms stay in the `trace_id`/`span_id` text columns (NULL otherwise).
 */
import type { TableSchema } from './table-schema.js';

export const LOG_STREAMS_TABLE: TableSchema = {
  name: 'log_streams',
  columns: [
    { name: 'stream_id', kind: 'integer' },
    { name: 'labels', kind: 'varchar' },
  ],
  migrations: ['CREATE TABLE log_streams (stream_id INTEGER NOT NULL, labels VARCHAR NOT NULL)'],
  timeColumn: null,
};

export const LOG_RESOURCES_TABLE: TableSchema = {
  name: 'log_resources',
  columns: [
    { name: 'resource_id', kind: 'integer' },
    { name: 'resource', kind: 'varchar' },
  ],
  migrations: ['CREATE TABLE log_resources (resource_id INTEGER NOT NULL, resource VARCHAR NOT NULL)'],
  timeColumn: null,
};

export const LOGS_TABLE: TableSchema = {
  name: 'logs',
  columns: [
    { name: 'seq', kind: 'bigint' },
    { name: 'time_ns', kind: 'bigint' },
    { name: 'observed_ns', kind: 'bigint' },
    { name: 'stream_id', kind: 'integer' },
    { name: 'resource_id', kind: 'integer' },
    { name: 'level', kind: 'varchar' },
    { name: 'severity_text', kind: 'varchar' },
    { name: 'severity', kind: 'utinyint' },
    { name: 'body', kind: 'varchar' },
    { name: 'trace_id', kind: 'varchar' },
    { name: 'span_id', kind: 'varchar' },
    { name: 'request_id', kind: 'varchar' },
    { name: 'trace_hash', kind: 'bigint' },
    { name: 'request_hash', kind: 'bigint' },
    { name: 'attributes', kind: 'varchar' },
    { name: 'trace_hi', kind: 'bigint' },
    { name: 'trace_lo', kind: 'bigint' },
    { name: 'span_bits', kind: 'bigint' },
  ],
  migrations: [
    `CREATE TABLE logs (
      seq BIGINT NOT NULL, time_ns BIGINT NOT NULL, observed_ns BIGINT NOT NULL, stream_id INTEGER NOT NULL, resource_id INTEGER NOT NULL,
      level VARCHAR, severity_text VARCHAR, severity UTINYINT NOT NULL, body VARCHAR NOT NULL,
      trace_id VARCHAR, span_id VARCHAR, request_id VARCHAR, trace_hash BIGINT, request_hash BIGINT, attributes VARCHAR)`,
    'ALTER TABLE logs ADD COLUMN trace_hi BIGINT; ALTER TABLE logs ADD COLUMN trace_lo BIGINT; ALTER TABLE logs ADD COLUMN span_bits BIGINT',
  ],
  timeColumn: 'time_ns',
};

/** The columns queries read back into StoredLogRecord, in this order. */
export const LOG_SELECT_COLUMNS =
  'seq, time_ns, observed_ns, stream_id, resource_id, level, severity_text, severity, body, trace_id, span_id, request_id, attributes, trace_hi, trace_lo, span_bits';
