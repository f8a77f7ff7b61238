/**
 * Appends column batches to a DuckDB table through one reused data chunk, calling DuckDB's native
 * bindings directly: numeric columns are copied into the chunk's vectors in bulk (typed arrays as
 * they are, plain arrays packed into a scratch typed array first), NULLs go in as one validity
 * bitmask per vector, and each text is one native call, except packed texts of up to 12 bytes,
 * which are written in DuckDB's inline string layout in bulk. node-api's vector wrappers, used before,
 * spent a BigInt operation per validity bit and a cache slot per value, and were the writer's
 * largest cost in profiles.
 */
import { createRequire } from 'node:module';
import type { DuckDBAppender } from '@duckdb/node-api';
import { DuckDBDataChunk } from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';
import { isPackedTexts, type PackedTexts } from './packed-texts.js';
import { duckdbTypes, type ColumnBatch, type ColumnKind, type ColumnValues, type TableSchema } from './table-schema.js';

// The bindings copy node-api itself loads (resolved from node-api's location), so chunks made by
// one are understood by the other.
const requireFromNodeApi = createRequire(createRequire(import.meta.url).resolve('@duckdb/node-api'));
const duckdb = requireFromNodeApi('@duckdb/node-bindings') as typeof DuckDBBindings;

/** Rows per data chunk: DuckDB's standard vector size. */
const CHUNK_ROWS = 2048;

/**
 * DuckDB's string_t: 16 bytes, a 32-bit length then, for up to 12 bytes, the bytes themselves
 * (zero-padded); longer strings hold a prefix and a pointer into the vector's heap instead.
 */
const STRING_T_BYTES = 16;
const INLINE_STRING_BYTES = 12;

const BYTES_PER_VALUE: Record<Exclude<ColumnKind, 'varchar' | 'blob'>, number> = { bigint: 8, integer: 4, utinyint: 1, double: 8, boolean: 1 };

/** Per-column scratch space for one chunk: packed values and a validity bitmask (bit set = valid). */
interface Scratch {
  readonly bigint: BigInt64Array;
  readonly integer: Int32Array;
  readonly utinyint: Uint8Array;
  readonly double: Float64Array;
  readonly validity: Uint8Array;
  /** string_t entries of a chunk, and their lengths viewed as 32-bit words. */
  readonly strings: Uint8Array;
  readonly stringWords: Uint32Array;
  /** Rows of a chunk whose packed text is too long to inline. */
  readonly longRows: Int32Array;
}

/** A table's reused data chunk and scratch space: making a chunk costs about as much as filling a small one. */
interface ChunkWriter {
  readonly kinds: readonly ColumnKind[];
  readonly chunk: DuckDBDataChunk;
  readonly scratch: Scratch;
}

const writers = new WeakMap<TableSchema, ChunkWriter>();

function writerFor(table: TableSchema): ChunkWriter {
  let writer = writers.get(table);
  if (writer === undefined) {
    const strings = new Uint8Array(CHUNK_ROWS * STRING_T_BYTES);
    writer = {
      kinds: table.columns.map((c) => c.kind),
      chunk: DuckDBDataChunk.create(duckdbTypes(table)),
      scratch: {
        bigint: new BigInt64Array(CHUNK_ROWS),
        integer: new Int32Array(CHUNK_ROWS),
        utinyint: new Uint8Array(CHUNK_ROWS),
        double: new Float64Array(CHUNK_ROWS),
        validity: new Uint8Array(CHUNK_ROWS / 8),
        strings,
        stringWords: new Uint32Array(strings.buffer),
        longRows: new Int32Array(CHUNK_ROWS),
      },
    };
    writers.set(table, writer);
  }
  return writer;
}

/** Rows `start` to `start + count` of a batch, written at row `at` of the chunk. */
interface Segment {
  readonly batch: ColumnBatch;
  readonly start: number;
  readonly count: number;
  readonly at: number;
}

/**
 * Appends the batches (all of `table`) to `appender`; the caller flushes and closes it. Small
 * batches share data chunks (a group commit of many one-row requests is one chunk, not one each):
 * every chunk costs an append call and a fill call per column whatever its rows.
 */
export function appendColumnBatches(appender: DuckDBAppender, table: TableSchema, batches: readonly ColumnBatch[]): void {
  const writer = writerFor(table);
  const segments: Segment[] = [];
  let rows = 0;
  for (const batch of batches) {
    for (let start = 0; start < batch.rowCount; ) {
      const count = Math.min(CHUNK_ROWS - rows, batch.rowCount - start);
      segments.push({ batch, start, count, at: rows });
      rows += count;
      start += count;
      if (rows === CHUNK_ROWS) {
        appendChunk(appender, writer, segments, rows);
        segments.length = 0;
        rows = 0;
      }
    }
  }
  if (rows > 0) appendChunk(appender, writer, segments, rows);
}

function appendChunk(appender: DuckDBAppender, writer: ChunkWriter, segments: readonly Segment[], rows: number): void {
  const raw = writer.chunk.chunk;
  const { kinds, scratch } = writer;
  duckdb.data_chunk_reset(raw);
  for (let col = 0; col < kinds.length; col++) {
    const vector = duckdb.data_chunk_get_vector(raw, col);
    scratch.validity.fill(0xff, 0, Math.ceil(rows / 8));
    let nulls = 0;
    for (const seg of segments) nulls += fillVector(vector, kinds[col]!, seg.batch.columns[col]!, seg.start, seg.count, seg.at, scratch);
    if (nulls > 0) writeValidity(vector, scratch.validity, rows);
  }
  duckdb.data_chunk_set_size(raw, rows);
  appender.appendDataChunk(writer.chunk);
}

/** Marks row `row` of the chunk NULL in the validity mask. */
function markNull(validity: Uint8Array, row: number): void {
  validity[row >>> 3]! &= ~(1 << (row & 7));
}

/**
 * Writes `count` values of a column from `start` into the vector at row `at`; NULLs are marked in
 * the scratch validity mask, which the caller writes once per column. Returns the NULLs written.
 */
function fillVector(vector: DuckDBBindings.Vector, kind: ColumnKind, values: ColumnValues, start: number, count: number, at: number, scratch: Scratch): number {
  if (isPackedTexts(values)) return fillPackedTexts(vector, values, start, count, at, scratch);
  if (kind === 'varchar' || kind === 'blob') return fillText(vector, values as readonly unknown[], start, count, at, scratch.validity);
  const width = BYTES_PER_VALUE[kind];
  if (ArrayBuffer.isView(values)) {
    duckdb.copy_data_to_vector(vector, at * width, values.buffer as ArrayBuffer, values.byteOffset + start * width, count * width);
    return 0;
  }
  const { buffer, nulls } = packValues(kind, values as readonly unknown[], start, count, at, scratch);
  duckdb.copy_data_to_vector(vector, at * width, buffer as ArrayBuffer, at * width, count * width);
  return nulls;
}

/** Packs `count` values from `start` into the kind's scratch array at row `at`, NULLs marked in the validity mask. */
function packValues(kind: Exclude<ColumnKind, 'varchar' | 'blob'>, list: readonly unknown[], start: number, count: number, at: number, scratch: Scratch): { buffer: ArrayBufferLike; nulls: number } {
  const validity = scratch.validity;
  let nulls = 0;
  const isNull = (row: number, v: unknown): boolean => {
    if (v !== null && v !== undefined) return false;
    markNull(validity, row);
    nulls++;
    return true;
  };
  if (kind === 'bigint') {
    const out = scratch.bigint;
    for (let i = 0; i < count; i++) {
      const v = list[start + i];
      out[at + i] = isNull(at + i, v) ? 0n : (v as bigint);
    }
    return { buffer: out.buffer, nulls };
  }
  if (kind === 'double') {
    const out = scratch.double;
    for (let i = 0; i < count; i++) {
      const v = list[start + i];
      out[at + i] = isNull(at + i, v) ? 0 : (v as number);
    }
    return { buffer: out.buffer, nulls };
  }
  const out = kind === 'integer' ? scratch.integer : scratch.utinyint;
  for (let i = 0; i < count; i++) {
    const v = list[start + i];
    out[at + i] = isNull(at + i, v) ? 0 : kind === 'boolean' ? (v ? 1 : 0) : (v as number);
  }
  return { buffer: out.buffer, nulls };
}

/** Texts (VARCHAR) or byte arrays (BLOB): one native call per value. */
function fillText(vector: DuckDBBindings.Vector, list: readonly unknown[], start: number, count: number, at: number, validity: Uint8Array): number {
  let nulls = 0;
  for (let i = 0; i < count; i++) {
    const v = list[start + i];
    if (v === null || v === undefined) {
      markNull(validity, at + i);
      nulls++;
    } else if (typeof v === 'string') {
      duckdb.vector_assign_string_element(vector, at + i, v);
    } else {
      duckdb.vector_assign_string_element_len(vector, at + i, v as Uint8Array);
    }
  }
  return nulls;
}

/**
 * Packed texts: entries of up to 12 bytes are laid out as DuckDB's inline string_t in scratch and
 * copied in bulk; each longer one is one native call with a view of its bytes.
 */
function fillPackedTexts(vector: DuckDBBindings.Vector, p: PackedTexts, start: number, count: number, at: number, scratch: Scratch): number {
  const { strings, stringWords, validity, longRows } = scratch;
  const { bytes, ends, nulls } = p;
  strings.fill(0, at * STRING_T_BYTES, (at + count) * STRING_T_BYTES);
  let nullCount = 0;
  let longCount = 0;
  for (let i = 0; i < count; i++) {
    const row = start + i;
    if (nulls[row] === 1) {
      markNull(validity, at + i);
      nullCount++;
      continue;
    }
    const from = row === 0 ? 0 : ends[row - 1]!;
    const length = ends[row]! - from;
    if (length > INLINE_STRING_BYTES) {
      longRows[longCount++] = i;
      continue;
    }
    stringWords[4 * (at + i)] = length;
    const to = (at + i) * STRING_T_BYTES + 4;
    for (let k = 0; k < length; k++) strings[to + k] = bytes[from + k]!;
  }
  duckdb.copy_data_to_vector(vector, at * STRING_T_BYTES, strings.buffer as ArrayBuffer, at * STRING_T_BYTES, count * STRING_T_BYTES);
  for (let j = 0; j < longCount; j++) {
    const i = longRows[j]!;
    const row = start + i;
    const from = row === 0 ? 0 : ends[row - 1]!;
    duckdb.vector_assign_string_element_len(vector, at + i, bytesOf(bytes, from, ends[row]!));
  }
  return nullCount;
}

/** One reused array per length up to this: a text is copied into it rather than given a view of its own. */
const MAX_REUSED_LENGTH = 512;
const reusedByLength: (Uint8Array | undefined)[] = [];

/** bytes[from, to) as a Uint8Array DuckDB copies at once: small ones in a reused array, so no object is made per text. */
function bytesOf(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const length = to - from;
  if (length > MAX_REUSED_LENGTH) return new Uint8Array(bytes.buffer, bytes.byteOffset + from, length);
  let out = reusedByLength[length];
  if (out === undefined) {
    out = new Uint8Array(length);
    reusedByLength[length] = out;
  }
  for (let k = 0; k < length; k++) out[k] = bytes[from + k]!;
  return out;
}

/** Copies the bitmask (64-bit little-endian words, as DuckDB keeps validity) for `count` rows. */
function writeValidity(vector: DuckDBBindings.Vector, validity: Uint8Array, count: number): void {
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, validity.buffer as ArrayBuffer, 0, Math.ceil(count / 64) * 8);
}
