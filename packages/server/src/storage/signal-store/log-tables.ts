/**
 * The log tables. Lines go to `logs` in arrival order, so the time and seq columns are nearly
 * sorted and DuckDB's per-row-group min/max (zone maps) skip row groups outside a query's range.
 * Request and trace ids get 53-bit hash columns: an exact-id lookup scans one BIGINT column, a
 * few milliseconds per 10M lines, then re-checks the text. Streams (label sets) live in
 * `log_streams`, small enough to be held in memory, as Loki's index is.
 */
import type { TableSchema } from './table-schema.js';

export const LOG_STREAMS_TABLE: TableSchema = {
  name: 'log_streams',
  columns: [
    { name: 'stream_id', kind: 'bigint' },
    { name: 'labels', kind: 'varchar' },
    { name: 'first_ns', kind: 'bigint' },
  ],
  migrations: ['CREATE TABLE log_streams (stream_id BIGINT NOT NULL, labels VARCHAR NOT NULL, first_ns BIGINT NOT NULL)'],
  timeColumn: null,
};

export const LOGS_TABLE: TableSchema = {
  name: 'logs',
  columns: [
    { name: 'seq', kind: 'bigint' },
    { name: 'time_ns', kind: 'bigint' },
    { name: 'observed_ns', kind: 'bigint' },
    { name: 'stream_id', kind: 'bigint' },
    { name: 'service', kind: 'varchar' },
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
    { name: 'resource', kind: 'varchar' },
  ],
  migrations: [
    `CREATE TABLE logs (
      seq BIGINT NOT NULL, time_ns BIGINT NOT NULL, observed_ns BIGINT NOT NULL, stream_id BIGINT NOT NULL,
      service VARCHAR NOT NULL, level VARCHAR NOT NULL, severity_text VARCHAR NOT NULL, severity UTINYINT NOT NULL,
      body VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, request_id VARCHAR NOT NULL,
      trace_hash BIGINT NOT NULL, request_hash BIGINT NOT NULL, attributes VARCHAR NOT NULL, resource VARCHAR NOT NULL)`,
  ],
  timeColumn: 'time_ns',
};

/** The columns queries read back into StoredLogRecord, in this order. */
export const LOG_SELECT_COLUMNS =
  'seq, time_ns, observed_ns, stream_id, service, level, severity_text, severity, body, trace_id, span_id, request_id, attributes, resource';
