/** The embedded signal store (logs now; traces and errors register their tables on it). */
export { openSignalStore, SignalStore, type SignalStoreOptions, type RetentionHook } from './signal-store.js';
export { StoreOverloadedError, StoreClosedError, type WriteUnit } from './write-queue.js';
export type { ColumnBatch, ColumnDef, ColumnKind, TableSchema } from './table-schema.js';
export { hash53, hashColumnValue } from './string-hash.js';
export { DuckDBTraceStore, type DuckDBTraceStoreOptions } from './traces/duckdb-trace-store.js';
