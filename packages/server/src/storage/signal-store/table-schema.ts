/**
 * Table definitions of the signal store and the columnar batches written into them. Every signal
 * (logs, spans, error events) declares its tables here in the same shape, so the shared write
 * queue, migrations and retention treat them alike.
 */
import { BIGINT, BLOB, DOUBLE, INTEGER, VARCHAR, UTINYINT, BOOLEAN, type DuckDBType } from '@duckdb/node-api';
import { isPackedTexts, type PackedTexts } from './packed-texts.js';

/** Column kinds and the JS values a batch holds for them (null allowed in every kind; blob values are Uint8Arrays). */
export type ColumnKind = 'bigint' | 'varchar' | 'integer' | 'utinyint' | 'double' | 'boolean' | 'blob';

export interface ColumnDef {
  readonly name: string;
  readonly kind: ColumnKind;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  /**
   * Migrations in order; migration i brings the table from version i to i+1. The first creates
   * the table. Applied versions are recorded in `signal_schema`, so reopening an older file runs
   * only the missing ones. Never edit a released migration: append a new one.
   */
  readonly migrations: readonly string[];
  /** The BIGINT column of nanoseconds since the epoch that retention deletes by, or null for none. */
  readonly timeColumn: string | null;
}

/**
 * One column's values: a plain array (null for NULL), or, for a column without NULLs, the kind's
 * typed array (bigint: BigInt64Array, integer: Int32Array, utinyint and boolean: Uint8Array,
 * double: Float64Array), which the writer copies into DuckDB in bulk; a varchar column may also
 * be packed texts (UTF-8 bytes with offsets).
 */
export type ColumnValues = readonly unknown[] | BigInt64Array | Int32Array | Uint8Array | Float64Array | PackedTexts;

/** Column-major rows for one table: `columns[i]` holds column i's values, all of length `rowCount`. */
export interface ColumnBatch {
  readonly table: TableSchema;
  readonly rowCount: number;
  readonly columns: readonly ColumnValues[];
}

const TYPED_ARRAY_OF_KIND: Record<ColumnKind, (new (n: number) => ArrayBufferView) | null> = {
  bigint: BigInt64Array,
  varchar: null,
  blob: null,
  integer: Int32Array,
  utinyint: Uint8Array,
  double: Float64Array,
  boolean: Uint8Array,
};

const DUCKDB_TYPES: Record<ColumnKind, DuckDBType> = {
  bigint: BIGINT,
  varchar: VARCHAR,
  integer: INTEGER,
  utinyint: UTINYINT,
  double: DOUBLE,
  boolean: BOOLEAN,
  blob: BLOB,
};

/** The DuckDB types of a table's columns, in order (for building data chunks). */
export function duckdbTypes(table: TableSchema): DuckDBType[] {
  return table.columns.map((c) => DUCKDB_TYPES[c.kind]);
}

/** Checks a batch's shape before it reaches the queue; a programming error, not bad input. */
export function checkBatchShape(batch: ColumnBatch): void {
  if (batch.columns.length !== batch.table.columns.length) {
    throw new Error(`batch for ${batch.table.name} has ${batch.columns.length} columns, the table has ${batch.table.columns.length}`);
  }
  for (let i = 0; i < batch.columns.length; i++) {
    const values = batch.columns[i]!;
    const column = batch.table.columns[i]!;
    if (values.length !== batch.rowCount) {
      throw new Error(`batch for ${batch.table.name}: column ${column.name} has ${values.length} values, expected ${batch.rowCount}`);
    }
    if (isPackedTexts(values) && column.kind !== 'varchar') {
      throw new Error(`batch for ${batch.table.name}: column ${column.name} (${column.kind}) cannot take packed texts`);
    }
    const typed = TYPED_ARRAY_OF_KIND[column.kind];
    if (ArrayBuffer.isView(values) && (typed === null || !(values instanceof typed))) {
      throw new Error(`batch for ${batch.table.name}: column ${column.name} (${column.kind}) cannot take a ${values.constructor.name}`);
    }
  }
}
