/**
 * Writes an immutable block directory: `chunks` (XOR chunks, each followed by its CRC32),
 * `index` (symbols, series with label sets and chunk references, postings; CRC32 trailer) and
 * `meta.json`. Everything goes to `<name>.tmp`, is fsynced, and is renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Labels } from '../model/labels.js';
import { ByteWriter } from './byte-buffer.js';
import { syncDir } from './wal.js';
import { chunkSampleCount } from './xor-chunk.js';

/** First 4 bytes of a block index file ("WKI1"). */
export const INDEX_MAGIC = 0x574b4931;
/** First 4 bytes of a block chunks file ("WKC1"). */
export const CHUNKS_MAGIC = 0x574b4331;
/** Every chunk in a chunks file is followed by the CRC32 of its bytes. */
export const CHUNK_CRC_BYTES = 4;

/** meta.json of a block (times in ms; maxTime exclusive, as in Prometheus). */
export interface BlockMeta {
  readonly ulid: string;
  readonly minTime: number;
  readonly maxTime: number;
  readonly stats: { numSamples: number; numSeries: number; numChunks: number };
  readonly compaction: { level: number; sources: string[] };
  readonly chunksBytes: number;
  readonly indexBytes: number;
  readonly version: 1;
}

/** An encoded XOR chunk with its time range (ms, inclusive). */
export interface ChunkData {
  readonly bytes: Uint8Array;
  readonly minT: number;
  readonly maxT: number;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID: 48-bit millisecond time then 80 random bits, Crockford base32 (sorts by time). */
export function ulid(nowMs: number): string {
  let out = '';
  let t = Math.max(0, Math.floor(nowMs));
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  for (let i = 0; i < 16; i++) out += CROCKFORD[rnd[i]! & 31]!;
  return out;
}

const FLUSH_BYTES = 4 << 20;

/** Accepts series in label order, then `finish()` writes the index and meta and publishes the block. */
export class BlockWriter {
  private readonly parentDir: string;
  private readonly tmpDir: string;
  readonly name: string;
  private chunksFile: FileHandle | null = null;
  private readonly chunkBuf = new ByteWriter(FLUSH_BYTES + 65536);
  private chunkOffset = 4;
  private readonly series = new ByteWriter(1 << 16);
  private seriesCount = 0;
  private readonly symbols = new Map<string, number>();
  private readonly postings = new Map<string, Map<string, number[]>>();
  private numSamples = 0;
  private numChunks = 0;

  constructor(parentDir: string, name: string) {
    this.parentDir = parentDir;
    this.name = name;
    this.tmpDir = join(parentDir, `${name}.tmp`);
  }

  async start(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    this.chunksFile = await open(join(this.tmpDir, 'chunks'), 'w');
    this.chunkBuf.u32(CHUNKS_MAGIC);
  }

  private symbol(s: string): number {
    let id = this.symbols.get(s);
    if (id === undefined) {
      id = this.symbols.size;
      this.symbols.set(s, id);
    }
    return id;
  }

  /** Adds a series with its time-ordered chunks (labels must be greater than the previous series'). */
  async addSeries(labels: Labels, chunks: readonly ChunkData[]): Promise<void> {
    if (chunks.length === 0) return;
    const id = this.seriesCount++;
    const w = this.series;
    w.uvarint(labels.length);
    for (const l of labels) {
      w.uvarint(this.symbol(l.name));
      w.uvarint(this.symbol(l.value));
      let values = this.postings.get(l.name);
      if (!values) {
        values = new Map();
        this.postings.set(l.name, values);
      }
      let list = values.get(l.value);
      if (!list) {
        list = [];
        values.set(l.value, list);
      }
      list.push(id);
    }
    w.uvarint(chunks.length);
    let prevMaxT = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      w.varint(i === 0 ? c.minT : c.minT - prevMaxT);
      w.uvarint(c.maxT - c.minT);
      w.uvarint(this.chunkOffset);
      w.uvarint(c.bytes.length);
      prevMaxT = c.maxT;
      this.chunkBuf.bytes(c.bytes);
      this.chunkBuf.u32(crc32(c.bytes));
      this.chunkOffset += c.bytes.length + CHUNK_CRC_BYTES;
      this.numSamples += chunkSampleCount(c.bytes);
      this.numChunks++;
    }
    if (this.chunkBuf.len >= FLUSH_BYTES) await this.flushChunks();
  }

  private async flushChunks(): Promise<void> {
    const data = this.chunkBuf.view();
    let off = 0;
    while (off < data.length) off += (await this.chunksFile!.write(data, off, data.length - off)).bytesWritten;
    this.chunkBuf.reset();
  }

  get empty(): boolean {
    return this.seriesCount === 0;
  }

  /** Writes index and meta, fsyncs and renames the block into place; returns its meta. */
  async finish(minTime: number, maxTime: number, compaction: BlockMeta['compaction']): Promise<BlockMeta> {
    await this.flushChunks();
    await this.chunksFile!.datasync();
    await this.chunksFile!.close();
    this.chunksFile = null;
    const index = this.buildIndex();
    const indexFile = await open(join(this.tmpDir, 'index'), 'w');
    try {
      await indexFile.writeFile(index);
      await indexFile.datasync();
    } finally {
      await indexFile.close();
    }
    const meta: BlockMeta = {
      ulid: this.name,
      minTime,
      maxTime,
      stats: { numSamples: this.numSamples, numSeries: this.seriesCount, numChunks: this.numChunks },
      compaction,
      chunksBytes: this.chunkOffset,
      indexBytes: index.length,
      version: 1,
    };
    const metaFile = join(this.tmpDir, 'meta.json');
    await writeFile(metaFile, JSON.stringify(meta, null, 2));
    const fh = await open(metaFile, 'r');
    await fh.sync();
    await fh.close();
    await syncDir(this.tmpDir);
    await rename(this.tmpDir, join(this.parentDir, this.name));
    await syncDir(this.parentDir);
    return meta;
  }

  /** Removes the temp dir after a failure. */
  async abort(): Promise<void> {
    if (this.chunksFile) await this.chunksFile.close().catch(() => undefined);
    await rm(this.tmpDir, { recursive: true, force: true });
  }

  private buildIndex(): Buffer {
    const w = new ByteWriter(this.series.len + this.symbols.size * 16 + 1024);
    w.u32(INDEX_MAGIC);
    const symbolsOff = w.len;
    w.uvarint(this.symbols.size);
    for (const s of this.symbols.keys()) w.string(s);
    const seriesOff = w.len;
    w.uvarint(this.seriesCount);
    w.bytes(this.series.view());
    const postingsOff = w.len;
    w.uvarint(this.postings.size);
    for (const [name, values] of this.postings) {
      w.uvarint(this.symbol(name));
      w.uvarint(values.size);
      for (const [value, ids] of values) {
        w.uvarint(this.symbol(value));
        w.uvarint(ids.length);
        let prev = 0;
        for (const id of ids) {
          w.uvarint(id - prev);
          prev = id;
        }
      }
    }
    w.u32(symbolsOff);
    w.u32(seriesOff);
    w.u32(postingsOff);
    w.u32(crc32(w.view()));
    return Buffer.from(w.view());
  }
}
