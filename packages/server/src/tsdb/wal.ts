/**
 * The write-ahead log: numbered segment files of framed, CRC32-checked records, written with
 * group commit (every commit waiting at the same time shares one fdatasync), and replayed on
 * open after the newest checkpoint. A torn or corrupt tail is cut off with a warning. The TSDB
 * logs its series and samples here; the signal store's journal its small writes (each owner
 * names its record types).
 */
import { open, readdir, readFile, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../selfobs/logger.js';

/** What a WAL reports about itself (the TSDB's metrics have these). */
export interface WalMetrics {
  readonly walFsyncDuration: Histogram;
  readonly walCorruptions: Counter;
  readonly walWriteFailures: Counter;
}

/** Record frame: type (1 byte), payload length (4 bytes BE), CRC32 of type+length+payload (4 bytes BE). */
const RECORD_HEADER_BYTES = 9;

const SEGMENT_RE = /^\d{8}$/;
const CHECKPOINT_RE = /^checkpoint\.(\d{8})$/;

/** Segment file name: the index as 8 decimal digits, as in Prometheus. */
export function segmentName(index: number): string {
  return String(index).padStart(8, '0');
}

/** Checkpoint directory name covering segments up to `index`. */
export function checkpointName(index: number): string {
  return `checkpoint.${segmentName(index)}`;
}

/** Frames a record: returns the header for `payload`. */
export function recordHeader(type: number, payload: Uint8Array): Buffer {
  const h = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  h[0] = type;
  h.writeUInt32BE(payload.length, 1);
  h.writeUInt32BE(crc32(payload, crc32(h.subarray(0, 5))), 5);
  return h;
}

/**
 * Visits the valid records of a file's bytes in order (`isType` tells the owner's record types).
 * Returns where valid data ends and, when the data after that point is not a whole valid record,
 * why.
 */
export function scanRecords<T extends number>(buf: Buffer, isType: (t: number) => t is T, visit: (type: T, payload: Buffer) => void): { validEnd: number; error: string | null } {
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < RECORD_HEADER_BYTES) return { validEnd: pos, error: `torn record header at byte ${pos}` };
    const type = buf[pos]!;
    const len = buf.readUInt32BE(pos + 1);
    if (!isType(type)) return { validEnd: pos, error: `unknown record type ${type} at byte ${pos}` };
    if (len > buf.length - pos - RECORD_HEADER_BYTES) return { validEnd: pos, error: `torn record at byte ${pos}` };
    const payload = buf.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
    const want = buf.readUInt32BE(pos + 5);
    if (crc32(payload, crc32(buf.subarray(pos, pos + 5))) !== want) return { validEnd: pos, error: `checksum mismatch at byte ${pos}` };
    visit(type, payload);
    pos += RECORD_HEADER_BYTES + len;
  }
  return { validEnd: pos, error: null };
}

/** What a WAL directory holds. */
export interface WalListing {
  segments: number[];
  checkpoint: number | null;
}

/** Segment indexes (ascending) and the newest checkpoint in a WAL directory; removes leftover temp dirs. */
export async function listWal(dir: string): Promise<WalListing> {
  const segments: number[] = [];
  let checkpoint: number | null = null;
  for (const name of await readdir(dir)) {
    if (SEGMENT_RE.test(name)) segments.push(Number(name));
    else if (name.endsWith('.tmp')) await rm(join(dir, name), { recursive: true, force: true });
    else {
      const m = CHECKPOINT_RE.exec(name);
      if (m && (checkpoint === null || Number(m[1]) > checkpoint)) checkpoint = Number(m[1]);
    }
  }
  segments.sort((a, b) => a - b);
  return { segments, checkpoint };
}

/** Outcome of a replay. */
export interface ReplayResult {
  /** Index of the last segment replayed (the checkpoint index when none follow), -1 for an empty WAL. */
  readonly lastSegment: number;
  readonly records: number;
}

/**
 * Replays the newest checkpoint, then every later segment. A corrupt record ends replay: the
 * segment is truncated there and later segments are deleted, with a warning. Records whose
 * payload fails to decode are skipped with a warning.
 */
export async function replayWal<T extends number>(
  dir: string,
  logger: Logger,
  metrics: WalMetrics,
  isType: (t: number) => t is T,
  visit: (type: T, payload: Buffer) => void,
): Promise<ReplayResult> {
  const { segments, checkpoint } = await listWal(dir);
  let records = 0;
  const safeVisit = (type: T, payload: Buffer): void => {
    records++;
    try {
      visit(type, payload);
    } catch (err) {
      metrics.walCorruptions.inc();
      logger.warn({ err: (err as Error).message, type }, 'skipping undecodable WAL record');
    }
  };
  let last = -1;
  if (checkpoint !== null) {
    const file = join(dir, checkpointName(checkpoint), segmentName(0));
    const { error } = scanRecords(await readFile(file), isType, safeVisit);
    if (error !== null) {
      metrics.walCorruptions.inc();
      logger.error({ file, error }, 'WAL checkpoint is corrupt; data after the damage is lost');
    }
    last = checkpoint;
  }
  const live = segments.filter((s) => checkpoint === null || s > checkpoint);
  for (let i = 0; i < live.length; i++) {
    const index = live[i]!;
    const file = join(dir, segmentName(index));
    const buf = await readFile(file);
    const { validEnd, error } = scanRecords(buf, isType, safeVisit);
    last = index;
    if (error === null) continue;
    metrics.walCorruptions.inc();
    const dropped = live.slice(i + 1);
    logger.warn(
      { file, error, truncatedAt: validEnd, droppedBytes: buf.length - validEnd, droppedSegments: dropped.length },
      'WAL tail is torn or corrupt; truncating it',
    );
    await truncate(file, validEnd);
    for (const d of dropped) await rm(join(dir, segmentName(d)), { force: true });
    break;
  }
  return { lastSegment: last, records };
}

/** Settings of the WAL writer. */
export interface WalWriterOptions {
  readonly dir: string;
  readonly segmentBytes: number;
  readonly logger: Logger;
  readonly metrics: WalMetrics;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** Appends records to the newest segment; `sync()` resolves once everything logged before it is on disk. */
export class Wal {
  private readonly opts: WalWriterOptions;
  private segment: FileHandle;
  private segmentIndex: number;
  private segmentSize: number;
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushQueued = false;
  /** Serialises all file operations. Never rejects. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Bytes in segment files (the checkpoint's are added by the owner). */
  sizeBytes: number;
  /** The last write error, cleared by the next successful write; health reports failing meanwhile. */
  failure: Error | null = null;

  private constructor(opts: WalWriterOptions, segment: FileHandle, index: number, sizeBytes: number) {
    this.opts = opts;
    this.segment = segment;
    this.segmentIndex = index;
    this.segmentSize = 0;
    this.sizeBytes = sizeBytes;
  }

  /** Starts writing a fresh segment after `lastSegment` (old segments are never appended to). */
  static async create(opts: WalWriterOptions, lastSegment: number): Promise<Wal> {
    let size = 0;
    for (const s of (await listWal(opts.dir)).segments) size += (await stat(join(opts.dir, segmentName(s)))).size;
    const index = lastSegment + 1;
    const fh = await open(join(opts.dir, segmentName(index)), 'a');
    await syncDir(opts.dir);
    return new Wal(opts, fh, index, size);
  }

  /** Queues a record (the payload is owned by the WAL from now on). */
  log(type: number, payload: Uint8Array): void {
    this.pending.push(recordHeader(type, payload), Buffer.from(payload.buffer, payload.byteOffset, payload.length));
  }

  /** Resolves when every record logged so far is durable; rejects if writing or syncing fails. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.chain = this.chain.then(() => this.flush());
    }
    return p;
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const batch = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      await this.write(batch);
      const end = this.opts.metrics.walFsyncDuration.startTimer();
      await this.segment.datasync();
      end();
      this.failure = null;
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.failure = err as Error;
      this.opts.metrics.walWriteFailures.inc();
      this.opts.logger.error({ err }, 'WAL write failed; the affected commits are rejected');
      for (const w of waiters) w.reject(err as Error);
    }
  }

  /** Writes header/payload pairs, moving to a new segment when the current one would overflow. */
  private async write(parts: Buffer[]): Promise<void> {
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < parts.length; i += 2) {
      const rec = parts[i]!.length + parts[i + 1]!.length;
      if (this.segmentSize + bytes + rec > this.opts.segmentBytes && this.segmentSize + bytes > 0) {
        await this.writeParts(parts, from, i, bytes);
        await this.nextSegment();
        from = i;
        bytes = 0;
      }
      bytes += rec;
    }
    await this.writeParts(parts, from, parts.length, bytes);
  }

  private async writeParts(parts: Buffer[], from: number, to: number, bytes: number): Promise<void> {
    if (bytes === 0) return;
    const data = Buffer.concat(parts.slice(from, to), bytes);
    let off = 0;
    while (off < data.length) off += (await this.segment.write(data, off, data.length - off)).bytesWritten;
    this.segmentSize += bytes;
    this.sizeBytes += bytes;
  }

  private async nextSegment(): Promise<void> {
    await this.segment.datasync();
    await this.segment.close();
    this.segmentIndex++;
    this.segmentSize = 0;
    this.segment = await open(join(this.opts.dir, segmentName(this.segmentIndex)), 'a');
    await syncDir(this.opts.dir);
  }

  /**
   * Ends the current segment and starts a new one; resolves with the index of the ended segment.
   * Everything logged before the call is in segments up to that index or later ones.
   */
  rotate(): Promise<number> {
    let ended = -1;
    const op = this.chain.then(async () => {
      ended = this.segmentIndex;
      await this.nextSegment();
    });
    this.chain = op.catch((err: unknown) => {
      this.failure = err as Error;
      this.opts.logger.error({ err }, 'WAL segment rotation failed');
    });
    return op.then(() => ended);
  }

  /** Deletes segments with index <= `upTo` and recomputes the size. */
  async deleteSegmentsUpTo(upTo: number): Promise<void> {
    let size = 0;
    for (const s of (await listWal(this.opts.dir)).segments) {
      const file = join(this.opts.dir, segmentName(s));
      if (s <= upTo) await rm(file, { force: true });
      else size += (await stat(file)).size;
    }
    this.sizeBytes = size;
  }

  /** Flushes pending records and closes the segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    const last = this.pending.length > 0 || this.waiters.length > 0 ? this.sync() : Promise.resolve();
    this.closed = true;
    await last.catch(() => undefined);
    await this.chain;
    await this.segment.close();
  }
}

/** fsyncs a directory so file creations and renames in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
