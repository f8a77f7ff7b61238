/**
 * The error tables of the signal store. Everything is appended, never updated in place, so one
 * group commit stores a request's events, the issues they create and the status changes they
 * cause atomically: `error_issues` holds an issue's identity, `error_issue_status` its status
 * history (the row with the highest seq is current), `error_events` the events with the issue
 * they were grouped into. Running totals (count, last seen, per-release counts) are derived from
 * `error_events` when the store opens and kept in memory after.
 */
import type { TableSchema } from '../table-schema.js';

export const ERROR_EVENTS_TABLE: TableSchema = {
  name: 'error_events',
  columns: [
    { name: 'event_id', kind: 'varchar' },
    { name: 'project_id', kind: 'integer' },
    { name: 'issue_id', kind: 'bigint' },
    { name: 'time_ns', kind: 'bigint' },
    { name: 'received_ns', kind: 'bigint' },
    { name: 'level', kind: 'varchar' },
    { name: 'release', kind: 'varchar' },
    { name: 'environment', kind: 'varchar' },
    { name: 'user_key', kind: 'varchar' },
    { name: 'trace_id', kind: 'varchar' },
    { name: 'span_id', kind: 'varchar' },
    { name: 'trace_hash', kind: 'bigint' },
    { name: 'tags', kind: 'varchar' },
    /** The whole event (errors-payload.ts: JSON text; older rows raw-deflated and base64-encoded). */
    { name: 'payload', kind: 'varchar' },
  ],
  migrations: [
    `CREATE TABLE error_events (
      event_id VARCHAR NOT NULL, project_id INTEGER NOT NULL, issue_id BIGINT NOT NULL, time_ns BIGINT NOT NULL,
      received_ns BIGINT NOT NULL, level VARCHAR NOT NULL, release VARCHAR NOT NULL, environment VARCHAR NOT NULL,
      user_key VARCHAR NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, trace_hash BIGINT NOT NULL,
      tags VARCHAR NOT NULL, payload VARCHAR NOT NULL)`,
  ],
  timeColumn: 'time_ns',
};

export const ERROR_ISSUES_TABLE: TableSchema = {
  name: 'error_issues',
  columns: [
    { name: 'issue_id', kind: 'bigint' },
    { name: 'project_id', kind: 'integer' },
    { name: 'fingerprint', kind: 'varchar' },
    { name: 'title', kind: 'varchar' },
    { name: 'culprit', kind: 'varchar' },
    { name: 'type', kind: 'varchar' },
    { name: 'level', kind: 'varchar' },
    { name: 'platform', kind: 'varchar' },
    { name: 'first_seen_ns', kind: 'bigint' },
    { name: 'first_release', kind: 'varchar' },
  ],
  migrations: [
    `CREATE TABLE error_issues (
      issue_id BIGINT NOT NULL, project_id INTEGER NOT NULL, fingerprint VARCHAR NOT NULL, title VARCHAR NOT NULL,
      culprit VARCHAR NOT NULL, type VARCHAR NOT NULL, level VARCHAR NOT NULL, platform VARCHAR NOT NULL,
      first_seen_ns BIGINT NOT NULL, first_release VARCHAR NOT NULL)`,
  ],
  // Issues outlive single events; the retention hook drops those left without events.
  timeColumn: null,
};

export const ERROR_ISSUE_STATUS_TABLE: TableSchema = {
  name: 'error_issue_status',
  columns: [
    { name: 'issue_id', kind: 'bigint' },
    { name: 'seq', kind: 'bigint' },
    { name: 'changed_ns', kind: 'bigint' },
    { name: 'status', kind: 'varchar' },
    { name: 'resolved_release', kind: 'varchar' },
    { name: 'ignore_until_count', kind: 'bigint' },
    { name: 'ignore_until_ns', kind: 'bigint' },
    { name: 'status_base_count', kind: 'bigint' },
    { name: 'regressed', kind: 'boolean' },
  ],
  migrations: [
    `CREATE TABLE error_issue_status (
      issue_id BIGINT NOT NULL, seq BIGINT NOT NULL, changed_ns BIGINT NOT NULL, status VARCHAR NOT NULL,
      resolved_release VARCHAR NOT NULL, ignore_until_count BIGINT NOT NULL, ignore_until_ns BIGINT NOT NULL,
      status_base_count BIGINT NOT NULL, regressed BOOLEAN NOT NULL)`,
  ],
  timeColumn: null,
};

export const ERROR_SESSIONS_TABLE: TableSchema = {
  name: 'error_sessions',
  columns: [
    { name: 'project_id', kind: 'integer' },
    { name: 'time_ns', kind: 'bigint' },
    { name: 'release', kind: 'varchar' },
    { name: 'environment', kind: 'varchar' },
    { name: 'started', kind: 'bigint' },
    { name: 'exited', kind: 'bigint' },
    { name: 'errored', kind: 'bigint' },
    { name: 'abnormal', kind: 'bigint' },
    { name: 'crashed', kind: 'bigint' },
  ],
  migrations: [
    `CREATE TABLE error_sessions (
      project_id INTEGER NOT NULL, time_ns BIGINT NOT NULL, release VARCHAR NOT NULL, environment VARCHAR NOT NULL,
      started BIGINT NOT NULL, exited BIGINT NOT NULL, errored BIGINT NOT NULL, abnormal BIGINT NOT NULL, crashed BIGINT NOT NULL)`,
  ],
  timeColumn: 'time_ns',
};

/** Every error table, in creation order. */
export const ERROR_TABLES: readonly TableSchema[] = [ERROR_EVENTS_TABLE, ERROR_ISSUES_TABLE, ERROR_ISSUE_STATUS_TABLE, ERROR_SESSIONS_TABLE];
