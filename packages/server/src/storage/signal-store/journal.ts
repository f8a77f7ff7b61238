/**
 * The signal store's own write-ahead journal. A small write (an error event, a batch of spans) is
 * acknowledged once its record is in the journal and fsynced; DuckDB receives the journaled writes
 * later in larger transactions. DuckDB's per-commit cost is mostly fixed (see write-queue.ts), and
 * its commit waits for its WAL's fsync on the committing thread, so committing every small group
 * to DuckDB cost the event loop more CPU and waiting than the rest of ingesting an error event;
 * the journal's append is one write and an fdatasync on libuv's thread pool.
 *
 * Records carry a sequence number. The database stores the highest sequence it holds
 * (`signal_journal.applied_seq`, updated in the same transaction as the rows), so replaying the
 * journal after a crash applies exactly the records DuckDB lacks. The journal is a directory of
 * segment files named by the sequence of their first record; a segment whose records are all
 * applied is deleted once a newer segment exists.
 *
 * Record layout: u32 payload length, u32 CRC-32 of the payload (little-endian), then the payload:
 * the sequence and the batches, each with its table's name and column definitions (so replay needs
 * no schema registry and happens before migrations), row count and columns (see Form and Tag). A record cut
 * short by a crash fails its length or checksum and ends the replay of that segment; it was never
 * acknowledged, since acknowledgement follows the fsync.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { PackedTexts } from './packed-texts.js';
import type { ColumnBatch, ColumnKind, ColumnValues, TableSchema } from './table-schema.js';

const HEADER_BYTES = 8;
const SEGMENT_SUFFIX = '.wkj';
/** Segment size after which appends go to a new segment, so applied records can be deleted. */
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Largest payload a header may claim; anything larger is a torn or corrupt header. */
const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;

/** One journaled write: its sequence number and its batches. */
export interface JournalRecord {
  readonly seq: number;
  readonly batches: readonly ColumnBatch[];
}

/** A record as appended: its sequence number and bytes (header and payload). */
export interface EncodedRecord {
  readonly seq: number;
  readonly bytes: Buffer;
}

interface Segment {
  readonly firstSeq: number;
  readonly path: string;
}

const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(16, '0')}${SEGMENT_SUFFIX}`;

export class Journal {
  private handle: FileHandle;
  private size: number;
  private nextSeq: number;
  /** Set when a failed append could not be undone: the journal's tail is unknown, so it refuses appends. */
  private broken: Error | null = null;

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
    handle: FileHandle,
    size: number,
    nextSeq: number,
  ) {
    this.handle = handle;
    this.size = size;
    this.nextSeq = nextSeq;
  }

  /**
   * Opens the journal in `dir` (created if missing) and reads the records newer than
   * `appliedSeq`, which the caller must apply before anything else is written. A torn record at
   * the end of the newest segment is cut off.
   */
  static async open(opts: {
    readonly dir: string;
    readonly appliedSeq: number;
    readonly logger: Logger;
    readonly segmentBytes?: number;
  }): Promise<{ journal: Journal; unapplied: JournalRecord[] }> {
    const { dir, appliedSeq, logger } = opts;
    mkdirSync(dir, { recursive: true });
    const segments = readdirSync(dir)
      .filter((name) => name.endsWith(SEGMENT_SUFFIX))
      .sort()
      .map((name) => ({ firstSeq: Number(name.slice(0, -SEGMENT_SUFFIX.length)), path: join(dir, name) }))
      .filter((s) => Number.isSafeInteger(s.firstSeq));
    const unapplied: JournalRecord[] = [];
    const schemas = new Map<string, TableSchema>();
    let lastSeq = appliedSeq;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const bytes = readFileSync(segment.path);
      const { records, validBytes } = readRecords(bytes, schemas);
      for (const r of records) {
        lastSeq = Math.max(lastSeq, r.seq);
        if (r.seq > appliedSeq) unapplied.push(r);
      }
      if (validBytes === bytes.length) continue;
      if (i === segments.length - 1) {
        logger.warn({ segment: segment.path, bytes: bytes.length - validBytes }, 'signal journal: cutting off a record torn by a crash (never acknowledged)');
        truncateSync(segment.path, validBytes);
      } else {
        logger.error({ segment: segment.path, offset: validBytes }, 'signal journal: a segment is corrupt after this offset; its later records are skipped');
      }
    }
    const nextSeq = lastSeq + 1;
    if (segments.length === 0) segments.push({ firstSeq: nextSeq, path: join(dir, segmentName(nextSeq)) });
    const tail = segments.at(-1)!;
    const handle = await open(tail.path, 'a');
    const size = (await handle.stat()).size;
    syncDirectory(dir);
    const journal = new Journal(dir, logger, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, segments, handle, size, nextSeq);
    return { journal, unapplied };
  }

  /** Encodes a write as the next record. Throws for values V8 cannot serialize. */
  encode(batches: readonly ColumnBatch[]): EncodedRecord {
    const seq = this.nextSeq;
    const bytes = frame(seq, batches);
    this.nextSeq++;
    return { seq, bytes };
  }

  /**
   * Appends records and fsyncs them; resolves once they are durable. On failure the segment is
   * cut back to its previous length, so no record of a failed (and so unacknowledged) append
   * survives to be replayed.
   */
  async append(records: readonly EncodedRecord[]): Promise<void> {
    if (this.broken) throw this.broken;
    const bytes = records.length === 1 ? records[0]!.bytes : Buffer.concat(records.map((r) => r.bytes));
    const before = this.size;
    try {
      const { bytesWritten } = await this.handle.write(bytes, 0, bytes.length);
      if (bytesWritten !== bytes.length) throw new Error(`short write to the signal journal (${bytesWritten} of ${bytes.length} bytes)`);
      await this.handle.datasync();
      this.size += bytes.length;
    } catch (err) {
      await this.handle.truncate(before).catch((truncateErr: Error) => {
        this.broken = new Error(`the signal journal could not be repaired after a failed write: ${truncateErr.message}`);
      });
      throw err;
    }
    if (this.size >= this.segmentBytes) await this.rotate();
  }

  /** Starts a new segment for the records from the next sequence on. */
  private async rotate(): Promise<void> {
    const segment = { firstSeq: this.nextSeq, path: join(this.dir, segmentName(this.nextSeq)) };
    const handle = await open(segment.path, 'a');
    syncDirectory(this.dir);
    const old = this.handle;
    this.handle = handle;
    this.size = 0;
    this.segments.push(segment);
    await old.close();
  }

  /** Deletes segments whose records are all at or below `appliedSeq` (never the one appended to). */
  prune(appliedSeq: number): void {
    while (this.segments.length > 1 && this.segments[1]!.firstSeq - 1 <= appliedSeq) {
      const segment = this.segments.shift()!;
      try {
        unlinkSync(segment.path);
      } catch (err) {
        this.log.warn({ err, segment: segment.path }, 'signal journal: could not delete an applied segment');
      }
    }
  }

  /**
   * Keeps a record DuckDB refused in `rejected/` (fsynced), so that dropping it from the store
   * loses nothing acknowledged without a trace.
   */
  setAside(record: JournalRecord): string {
    const rejected = join(this.dir, 'rejected');
    mkdirSync(rejected, { recursive: true });
    const path = join(rejected, segmentName(record.seq));
    writeFileSync(path, frame(record.seq, record.batches));
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    syncDirectory(rejected);
    return path;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** A record's bytes: header and payload. */
function frame(seq: number, batches: readonly ColumnBatch[]): Buffer {
  const w = RecordWriter.shared;
  w.reset();
  w.skip(HEADER_BYTES);
  w.f64(seq);
  const written = batches.filter((b) => b.rowCount > 0);
  w.u32(written.length);
  for (const b of written) {
    w.bytes(layoutKey(b.table));
    w.u32(b.rowCount);
    for (const values of b.columns) writeColumn(w, values);
  }
  const bytes = w.finish();
  const payload = bytes.subarray(HEADER_BYTES);
  bytes.writeUInt32LE(payload.length, 0);
  bytes.writeUInt32LE(crc32(payload), 4);
  return bytes;
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

const layoutKeys = new WeakMap<TableSchema, Buffer>();

/** The table's name and column definitions as UTF-8 JSON, made once per schema object. */
function layoutKey(table: TableSchema): Buffer {
  let key = layoutKeys.get(table);
  if (key === undefined) {
    key = Buffer.from(JSON.stringify([table.name, table.columns.map((c) => [c.name, c.kind])]));
    layoutKeys.set(table, key);
  }
  return key;
}

function writeColumn(w: RecordWriter, values: ColumnValues): void {
  if (Array.isArray(values)) {
    w.u8(Form.Values);
    for (const v of values as readonly unknown[]) writeValue(w, v);
  } else if (values instanceof BigInt64Array) {
    w.u8(Form.BigInt64);
    w.bytes(values);
  } else if (values instanceof Int32Array) {
    w.u8(Form.Int32);
    w.bytes(values);
  } else if (values instanceof Float64Array) {
    w.u8(Form.Float64);
    w.bytes(values);
  } else if (values instanceof Uint8Array) {
    w.u8(Form.Uint8);
    w.bytes(values);
  } else {
    const packed = values as PackedTexts;
    w.u8(Form.Packed);
    w.u32(packed.length);
    w.bytes(packed.bytes.subarray(0, packed.length === 0 ? 0 : packed.ends[packed.length - 1]!));
    w.bytes(packed.ends.subarray(0, packed.length));
    w.bytes(packed.nulls.subarray(0, packed.length));
  }
}

function writeValue(w: RecordWriter, v: unknown): void {
  switch (typeof v) {
    case 'string':
      w.u8(Tag.Text);
      w.text(v);
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
        w.bytes(v);
      } else throw new Error(`a signal store column holds a value of an unsupported type (${Object.prototype.toString.call(v)})`);
  }
}

/** Texts up to this length are copied by a JavaScript loop when ASCII, cheaper than a native call. */
const SHORT_TEXT = 32;

/** Appends to a growing buffer; one shared writer (encoding is synchronous) whose buffer is reused. */
class RecordWriter {
  static readonly shared = new RecordWriter(64 * 1024);
  private buf: Buffer;
  private at = 0;

  private constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): void {
    this.at = 0;
    // A rare huge record must not keep its buffer for good.
    if (this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  skip(n: number): void {
    this.room(n);
    this.at += n;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }

  i64(v: bigint): void {
    this.room(8);
    this.buf.writeBigInt64LE(v, this.at);
    this.at += 8;
  }

  /** A length (u32) and the raw bytes of a typed array. */
  bytes(view: ArrayBufferView): void {
    this.u32(view.byteLength);
    this.room(view.byteLength);
    this.buf.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), this.at);
    this.at += view.byteLength;
  }

  /** A length (u32) and UTF-8 bytes. */
  text(v: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.room(4 + 3 * v.length);
    const start = this.at + 4;
    let n = -1;
    if (v.length <= SHORT_TEXT) {
      const buf = this.buf;
      let i = 0;
      for (; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === v.length) n = i;
    }
    if (n < 0) n = this.buf.write(v, start);
    this.buf.writeUInt32LE(n, this.at);
    this.at = start + n;
  }

  /** A copy of what was written (the buffer is reused by the next record). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

/** Reads a payload; throws on any inconsistency (the checksum makes that a bug or a bad disk). */
class RecordReader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  private take(n: number): number {
    if (n < 0 || this.at + n > this.buf.length) throw new Error('signal journal record ends early');
    const at = this.at;
    this.at += n;
    return at;
  }

  get done(): boolean {
    return this.at === this.buf.length;
  }

  u8(): number {
    return this.buf[this.take(1)]!;
  }

  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }

  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }

  i64(): bigint {
    return this.buf.readBigInt64LE(this.take(8));
  }

  /** A copy of the next length-prefixed bytes in a fresh, aligned buffer. */
  bytes(): ArrayBuffer {
    const n = this.u32();
    const at = this.take(n);
    const out = new ArrayBuffer(n);
    new Uint8Array(out).set(this.buf.subarray(at, at + n));
    return out;
  }

  text(): string {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }
}

function readColumn(r: RecordReader, rows: number): ColumnValues {
  const form = r.u8();
  switch (form) {
    case Form.Values: {
      const values = new Array<unknown>(rows);
      for (let i = 0; i < rows; i++) values[i] = readValue(r);
      return values;
    }
    case Form.BigInt64:
      return new BigInt64Array(r.bytes());
    case Form.Int32:
      return new Int32Array(r.bytes());
    case Form.Uint8:
      return new Uint8Array(r.bytes());
    case Form.Float64:
      return new Float64Array(r.bytes());
    case Form.Packed: {
      const length = r.u32();
      return { length, bytes: new Uint8Array(r.bytes()), ends: new Int32Array(r.bytes()), nulls: new Uint8Array(r.bytes()) };
    }
    default:
      throw new Error(`unknown column form ${form} in a signal journal record`);
  }
}

function readValue(r: RecordReader): unknown {
  const tag = r.u8();
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.Text:
      return r.text();
    case Tag.Number:
      return r.f64();
    case Tag.BigInt:
      return r.i64();
    case Tag.True:
      return true;
    case Tag.False:
      return false;
    case Tag.Bytes:
      return new Uint8Array(r.bytes());
    default:
      throw new Error(`unknown value tag ${tag} in a signal journal record`);
  }
}

/** The whole records at the start of `bytes`, and how many bytes they take. */
export function readRecords(bytes: Buffer, layouts = new Map<string, TableSchema>()): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    const end = at + HEADER_BYTES + length;
    if (length > MAX_PAYLOAD_BYTES || end > bytes.length) break;
    const payload = bytes.subarray(at + HEADER_BYTES, end);
    if (crc32(payload) !== bytes.readUInt32LE(at + 4)) break;
    const record = decodePayload(payload, layouts);
    if (record === null) break;
    records.push(record);
    at = end;
  }
  return { records, validBytes: at };
}

function decodePayload(payload: Buffer, layouts: Map<string, TableSchema>): JournalRecord | null {
  try {
    const r = new RecordReader(payload);
    const seq = r.f64();
    const count = r.u32();
    const batches: ColumnBatch[] = [];
    for (let i = 0; i < count; i++) {
      const table = layoutOf(r.text(), layouts);
      const rowCount = r.u32();
      const columns = table.columns.map(() => readColumn(r, rowCount));
      batches.push({ table, rowCount, columns });
    }
    if (!Number.isSafeInteger(seq) || !r.done) return null;
    return { seq, batches };
  } catch {
    return null;
  }
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

/** Makes a new or deleted file name in `dir` durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
