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

/** Appends the batches (all of `table`) to `appender`; the caller flushes and closes it. */
export function appendColumnBatches(appender: DuckDBAppender, table: TableSchema, batches: readonly ColumnBatch[]): void {
  const kinds = table.columns.map((c) => c.kind);
  const chunk = DuckDBDataChunk.create(duckdbTypes(table));
  const raw = chunk.chunk;
  const strings = new Uint8Array(CHUNK_ROWS * STRING_T_BYTES);
  const scratch: Scratch = {
    bigint: new BigInt64Array(CHUNK_ROWS),
    integer: new Int32Array(CHUNK_ROWS),
    utinyint: new Uint8Array(CHUNK_ROWS),
    double: new Float64Array(CHUNK_ROWS),
    validity: new Uint8Array(CHUNK_ROWS / 8),
    strings,
    stringWords: new Uint32Array(strings.buffer),
    longRows: new Int32Array(CHUNK_ROWS),
  };
  for (const batch of batches) {
    for (let start = 0; start < batch.rowCount; start += CHUNK_ROWS) {
      const count = Math.min(CHUNK_ROWS, batch.rowCount - start);
      duckdb.data_chunk_reset(raw);
      for (let col = 0; col < kinds.length; col++) {
        const vector = duckdb.data_chunk_get_vector(raw, col);
        fillVector(vector, kinds[col]!, batch.columns[col]!, start, count, scratch);
      }
      duckdb.data_chunk_set_size(raw, count);
      appender.appendDataChunk(chunk);
    }
  }
}

function fillVector(
  vector: DuckDBBindings.Vector,
  kind: ColumnKind,
  values: ColumnValues,
  start: number,
  count: number,
  scratch: Scratch,
): void {
  if (isPackedTexts(values)) {
    fillPackedTexts(vector, values, start, count, scratch);
    return;
  }
  if (kind === 'varchar' || kind === 'blob') {
    fillText(vector, values as readonly unknown[], start, count, scratch.validity);
    return;
  }
  const width = BYTES_PER_VALUE[kind];
  if (ArrayBuffer.isView(values)) {
    duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + start * width, count * width);
    return;
  }
  const target = packValues(kind, values as readonly unknown[], start, count, scratch);
  duckdb.copy_data_to_vector(vector, 0, target.buffer as ArrayBuffer, 0, count * width);
  if (target.nulls > 0) writeValidity(vector, scratch.validity, count);
}

/** Packs `count` values from `start` into the kind's scratch array, NULLs marked in the validity mask. */
function packValues(kind: Exclude<ColumnKind, 'varchar' | 'blob'>, list: readonly unknown[], start: number, count: number, scratch: Scratch): { buffer: ArrayBufferLike; nulls: number } {
  const validity = scratch.validity;
  validity.fill(0xff);
  let nulls = 0;
  const isNull = (i: number, v: unknown): boolean => {
    if (v !== null && v !== undefined) return false;
    validity[i >>> 3]! &= ~(1 << (i & 7));
    nulls++;
    return true;
  };
  if (kind === 'bigint') {
    const out = scratch.bigint;
    for (let i = 0; i < count; i++) {
      const v = list[start + i];
      out[i] = isNull(i, v) ? 0n : (v as bigint);
    }
    return { buffer: out.buffer, nulls };
  }
  if (kind === 'double') {
    const out = scratch.double;
    for (let i = 0; i < count; i++) {
      const v = list[start + i];
      out[i] = isNull(i, v) ? 0 : (v as number);
    }
    return { buffer: out.buffer, nulls };
  }
  const out = kind === 'integer' ? scratch.integer : scratch.utinyint;
  for (let i = 0; i < count; i++) {
    const v = list[start + i];
    out[i] = isNull(i, v) ? 0 : kind === 'boolean' ? (v ? 1 : 0) : (v as number);
  }
  return { buffer: out.buffer, nulls };
}

/** Texts (VARCHAR) or byte arrays (BLOB): one native call per value. */
function fillText(vector: DuckDBBindings.Vector, list: readonly unknown[], start: number, count: number, validity: Uint8Array): void {
  validity.fill(0xff);
  let nulls = 0;
  for (let i = 0; i < count; i++) {
    const v = list[start + i];
    if (v === null || v === undefined) {
      validity[i >>> 3]! &= ~(1 << (i & 7));
      nulls++;
    } else if (typeof v === 'string') {
      duckdb.vector_assign_string_element(vector, i, v);
    } else {
      duckdb.vector_assign_string_element_len(vector, i, v as Uint8Array);
    }
  }
  if (nulls > 0) writeValidity(vector, validity, count);
}

/**
 * Packed texts: entries of up to 12 bytes are laid out as DuckDB's inline string_t in scratch and
 * copied in bulk; each longer one is one native call with a view of its bytes.
 */
function fillPackedTexts(vector: DuckDBBindings.Vector, p: PackedTexts, start: number, count: number, scratch: Scratch): void {
  const { strings, stringWords, validity, longRows } = scratch;
  const { bytes, ends, nulls } = p;
  strings.fill(0, 0, count * STRING_T_BYTES);
  validity.fill(0xff);
  let nullCount = 0;
  let longCount = 0;
  for (let i = 0; i < count; i++) {
    const row = start + i;
    if (nulls[row] === 1) {
      validity[i >>> 3]! &= ~(1 << (i & 7));
      nullCount++;
      continue;
    }
    const from = row === 0 ? 0 : ends[row - 1]!;
    const length = ends[row]! - from;
    if (length > INLINE_STRING_BYTES) {
      longRows[longCount++] = i;
      continue;
    }
    stringWords[4 * i] = length;
    const at = i * STRING_T_BYTES + 4;
    for (let k = 0; k < length; k++) strings[at + k] = bytes[from + k]!;
  }
  duckdb.copy_data_to_vector(vector, 0, strings.buffer as ArrayBuffer, 0, count * STRING_T_BYTES);
  for (let j = 0; j < longCount; j++) {
    const i = longRows[j]!;
    const row = start + i;
    const from = row === 0 ? 0 : ends[row - 1]!;
    duckdb.vector_assign_string_element_len(vector, i, bytesOf(bytes, from, ends[row]!));
  }
  if (nullCount > 0) writeValidity(vector, validity, count);
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
