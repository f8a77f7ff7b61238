/**
 * The signal store's own write-ahead journal. A small write (an error event, a batch of spans) is
 * acknowledged once its record is in the journal and fsynced; DuckDB receives the journaled writes
 * later in larger transactions. DuckDB's per-commit cost is mostly fixed (see write-queue.ts), and
 * its commit waits for its WAL's fsync on the committing thread, so committing every small group
 * to DuckDB cost the event loop more CPU and waiting than the rest of ingesting an error event;
 * the journal's append is one write and an fdatasync on libuv's thread pool.
 *
 * The files are the TSDB's write-ahead log (tsdb/wal.ts: numbered segments of CRC-checked
 * records, group fsync, a torn tail cut off on replay), with one record type of our own. Records
 * carry a sequence number. The database stores the highest sequence it holds
 * (`signal_journal.applied_seq`, updated in the same transaction as the rows), so replaying the
 * journal after a crash applies exactly the records DuckDB lacks. Once every record written is in
 * DuckDB and the segments hold more than a segment's worth, they are deleted.
 *
 * A record's payload: the sequence and the batches, each with its table's name and column
 * definitions (so replay needs no schema registry and happens before migrations), row count and
 * columns (see Form and Tag).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ByteReader, ByteWriter } from '../../tsdb/byte-buffer.js';
import { recordHeader, replayWal, scanRecords, syncDir, Wal, type WalMetrics } from '../../tsdb/wal.js';
import type { PackedTexts } from './packed-texts.js';
import type { ColumnBatch, ColumnKind, ColumnValues, TableSchema } from './table-schema.js';

/** The journal's one record type: a write unit's batches. */
const SIGNAL_WRITE = 1;
const isSignalWrite = (t: number): t is typeof SIGNAL_WRITE => t === SIGNAL_WRITE;
/** Segment size after which appends go to a new segment, so applied records can be deleted. */
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** One journaled write: its sequence number and its batches. */
export interface JournalRecord {
  readonly seq: number;
  readonly batches: readonly ColumnBatch[];
}

/** A record as appended: its sequence number and payload. */
export interface EncodedRecord {
  readonly seq: number;
  readonly payload: Buffer;
}

/** A record as it is stored: frame header and payload. */
export function frameRecord(record: EncodedRecord): Buffer {
  return Buffer.concat([recordHeader(SIGNAL_WRITE, record.payload), record.payload]);
}

export class Journal {
  private nextSeq: number;

  private constructor(
    private readonly dir: string,
    private readonly wal: Wal,
    private readonly segmentBytes: number,
    nextSeq: number,
  ) {
    this.nextSeq = nextSeq;
  }

  /**
   * Opens the journal in `dir` (created if missing) and reads the records newer than
   * `appliedSeq`, which the caller must apply before anything else is written.
   */
  static async open(opts: {
    readonly dir: string;
    readonly appliedSeq: number;
    readonly logger: Logger;
    readonly metrics: WalMetrics;
    readonly segmentBytes?: number;
  }): Promise<{ journal: Journal; unapplied: JournalRecord[] }> {
    const { dir, appliedSeq, logger, metrics } = opts;
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    mkdirSync(dir, { recursive: true });
    const unapplied: JournalRecord[] = [];
    const layouts = new Map<string, TableSchema>();
    let lastSeq = appliedSeq;
    const { lastSegment } = await replayWal(dir, logger, metrics, isSignalWrite, (_type, payload) => {
      const record = decodePayload(payload, layouts);
      lastSeq = Math.max(lastSeq, record.seq);
      if (record.seq > appliedSeq) unapplied.push(record);
    });
    const wal = await Wal.create({ dir, segmentBytes, logger, metrics }, lastSegment);
    return { journal: new Journal(dir, wal, segmentBytes, lastSeq + 1), unapplied };
  }

  /** Encodes a write as the next record. Throws for column values of unsupported types. */
  encode(batches: readonly ColumnBatch[]): EncodedRecord {
    const record = { seq: this.nextSeq, payload: encodePayload(this.nextSeq, batches) };
    this.nextSeq++;
    return record;
  }

  /** Appends records and fsyncs them (one fsync for all); resolves once they are durable. */
  async append(records: readonly EncodedRecord[]): Promise<void> {
    for (const r of records) this.wal.log(SIGNAL_WRITE, r.payload);
    await this.wal.sync();
  }

  /**
   * Deletes the segments, once they hold more than a segment's worth; call only when every record
   * appended so far is in DuckDB.
   */
  async dropApplied(): Promise<void> {
    if (this.wal.sizeBytes < this.segmentBytes) return;
    await this.wal.deleteSegmentsUpTo(await this.wal.rotate());
  }

  /**
   * Keeps a record DuckDB refused in `rejected/` (fsynced), so that dropping it from the store
   * loses nothing acknowledged without a trace.
   */
  async setAside(record: JournalRecord): Promise<string> {
    const rejected = join(this.dir, 'rejected');
    mkdirSync(rejected, { recursive: true });
    const path = join(rejected, String(record.seq).padStart(16, '0'));
    writeFileSync(path, frameRecord({ seq: record.seq, payload: encodePayload(record.seq, record.batches) }));
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    await syncDir(rejected);
    return path;
  }

  close(): Promise<void> {
    return this.wal.close();
  }
}

/** One writer for every record (encoding is synchronous), so its buffer is reused. */
const writer = new ByteWriter(64 * 1024);

/** A record's payload. */
function encodePayload(seq: number, batches: readonly ColumnBatch[]): Buffer {
  // A rare huge record must not keep its buffer for good.
  if (writer.buf.length > 1024 * 1024) writer.buf = Buffer.allocUnsafe(64 * 1024);
  writer.reset();
  writer.uvarint(seq);
  const written = batches.filter((b) => b.rowCount > 0);
  writer.uvarint(written.length);
  for (const b of written) {
    writer.string(layoutKey(b.table));
    writer.uvarint(b.rowCount);
    for (const values of b.columns) writeColumn(writer, values);
  }
  return Buffer.from(writer.view());
}

/**
 * Column forms in a payload. The encoding is ours rather than V8's serializer, which took ~30 µs
 * for an error event's rows (a quarter of its event-loop time); this takes a few.
 */
const enum Form {
  Values = 0,
  BigInt64 = 1,
  Int32 = 2,
  Uint8 = 3,
  Float64 = 4,
  Packed = 5,
}

/** Value tags inside a plain array column. */
const enum Tag {
  Null = 0,
  Text = 1,
  Number = 2,
  BigInt = 3,
  True = 4,
  False = 5,
  Bytes = 6,
}

const layoutKeys = new WeakMap<TableSchema, string>();

/** The table's name and column definitions as JSON, made once per schema object. */
function layoutKey(table: TableSchema): string {
  let key = layoutKeys.get(table);
  if (key === undefined) {
    key = JSON.stringify([table.name, table.columns.map((c) => [c.name, c.kind])]);
    layoutKeys.set(table, key);
  }
  return key;
}

/** A typed array's bytes, length first. */
function writeView(w: ByteWriter, view: ArrayBufferView): void {
  w.uvarint(view.byteLength);
  w.bytes(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/** A copy of length-prefixed bytes in a fresh, aligned buffer (for a typed array over it). */
function readView(r: ByteReader): ArrayBuffer {
  const bytes = r.bytes(r.uvarint());
  const out = new ArrayBuffer(bytes.length);
  new Uint8Array(out).set(bytes);
  return out;
}

function writeColumn(w: ByteWriter, values: ColumnValues): void {
  if (Array.isArray(values)) {
    w.u8(Form.Values);
    for (const v of values as readonly unknown[]) writeValue(w, v);
  } else if (values instanceof BigInt64Array) {
    w.u8(Form.BigInt64);
    writeView(w, values);
  } else if (values instanceof Int32Array) {
    w.u8(Form.Int32);
    writeView(w, values);
  } else if (values instanceof Float64Array) {
    w.u8(Form.Float64);
    writeView(w, values);
  } else if (values instanceof Uint8Array) {
    w.u8(Form.Uint8);
    writeView(w, values);
  } else {
    const packed = values as PackedTexts;
    w.u8(Form.Packed);
    w.uvarint(packed.length);
    writeView(w, packed.bytes.subarray(0, packed.length === 0 ? 0 : packed.ends[packed.length - 1]!));
    writeView(w, packed.ends.subarray(0, packed.length));
    writeView(w, packed.nulls.subarray(0, packed.length));
  }
}

function writeValue(w: ByteWriter, v: unknown): void {
  switch (typeof v) {
    case 'string':
      w.u8(Tag.Text);
      w.string(v);
      return;
    case 'number':
      w.u8(Tag.Number);
      w.f64(v);
      return;
    case 'bigint':
      w.u8(Tag.BigInt);
      w.i64(v);
      return;
    case 'boolean':
      w.u8(v ? Tag.True : Tag.False);
      return;
    default:
      if (v === null || v === undefined) w.u8(Tag.Null);
      else if (v instanceof Uint8Array) {
        w.u8(Tag.Bytes);
        writeView(w, v);
      } else throw new Error(`a signal store column holds a value of an unsupported type (${Object.prototype.toString.call(v)})`);
  }
}

function readColumn(r: ByteReader, rows: number): ColumnValues {
  const form = r.u8();
  switch (form) {
    case Form.Values: {
      const values = new Array<unknown>(rows);
      for (let i = 0; i < rows; i++) values[i] = readValue(r);
      return values;
    }
    case Form.BigInt64:
      return new BigInt64Array(readView(r));
    case Form.Int32:
      return new Int32Array(readView(r));
    case Form.Uint8:
      return new Uint8Array(readView(r));
    case Form.Float64:
      return new Float64Array(readView(r));
    case Form.Packed: {
      const length = r.uvarint();
      return { length, bytes: new Uint8Array(readView(r)), ends: new Int32Array(readView(r)), nulls: new Uint8Array(readView(r)) };
    }
    default:
      throw new Error(`unknown column form ${form} in a signal journal record`);
  }
}

function readValue(r: ByteReader): unknown {
  const tag = r.u8();
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.Text:
      return r.string();
    case Tag.Number:
      return r.f64();
    case Tag.BigInt:
      return r.i64();
    case Tag.True:
      return true;
    case Tag.False:
      return false;
    case Tag.Bytes:
      return new Uint8Array(readView(r));
    default:
      throw new Error(`unknown value tag ${tag} in a signal journal record`);
  }
}

/** The whole records at the start of a journal file's bytes, and how many bytes they take. */
export function readRecords(bytes: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  const layouts = new Map<string, TableSchema>();
  const { validEnd } = scanRecords(bytes, isSignalWrite, (_type, payload) => records.push(decodePayload(payload, layouts)));
  return { records, validBytes: validEnd };
}

/** Decodes a payload; throws on any inconsistency (the checksum makes that a bug or a bad disk). */
function decodePayload(payload: Buffer, layouts: Map<string, TableSchema>): JournalRecord {
  const r = new ByteReader(payload);
  const seq = r.uvarint();
  const count = r.uvarint();
  const batches: ColumnBatch[] = [];
  for (let i = 0; i < count; i++) {
    const table = layoutOf(r.string(), layouts);
    const rowCount = r.uvarint();
    const columns = table.columns.map(() => readColumn(r, rowCount));
    batches.push({ table, rowCount, columns });
  }
  if (r.remaining !== 0) throw new Error('a signal journal record has bytes after its columns');
  return { seq, batches };
}

/** One TableSchema object per table layout, so the column appender's per-table caches apply. */
function layoutOf(key: string, layouts: Map<string, TableSchema>): TableSchema {
  let schema = layouts.get(key);
  if (schema === undefined) {
    const [name, columns] = JSON.parse(key) as [string, [string, ColumnKind][]];
    schema = { name, columns: columns.map(([column, kind]) => ({ name: column, kind })), migrations: [], timeColumn: null };
    layouts.set(key, schema);
  }
  return schema;
}
