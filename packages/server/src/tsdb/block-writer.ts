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

/** First 4 bytes of a block index file ("WKI2"). */
export const INDEX_MAGIC = 0x574b4932;
/** First 4 bytes of a block chunks file ("WKC2"). */
export const CHUNKS_MAGIC = 0x574b4332;
/** meta.json `version` of the block format written (chunk encoding and index layout). */
export const BLOCK_VERSION = 2;
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
  readonly version: typeof BLOCK_VERSION;
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

/**
 * Accepts series in label order, then `finish()` writes the index and meta and publishes the block.
 * Index: symbols, label-name lists, series (name-list id, value symbols, chunk times relative to
 * the block's minTime and chunk lengths; chunk offsets are implicit, as chunks are written in
 * series order, each followed by its CRC32), postings, then the four section offsets and a CRC32.
 */
export class BlockWriter {
  private readonly parentDir: string;
  private readonly tmpDir: string;
  readonly name: string;
  private readonly minTime: number;
  private chunksFile: FileHandle | null = null;
  private readonly chunkBuf = new ByteWriter(FLUSH_BYTES + 65536);
  private chunkOffset = 4;
  private readonly series = new ByteWriter(1 << 16);
  private seriesCount = 0;
  private readonly symbols = new Map<string, number>();
  /** Distinct label-name lists (key: names joined by NUL) -> id; a series stores its list's id and its values. */
  private readonly nameSets = new Map<string, { id: number; names: number[] }>();
  private readonly postings = new Map<string, Map<string, number[]>>();
  private numSamples = 0;
  private numChunks = 0;

  /** `minTime`: the block's start (ms, inclusive); every chunk must start at or after it. */
  constructor(parentDir: string, name: string, minTime: number) {
    this.parentDir = parentDir;
    this.name = name;
    this.minTime = minTime;
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

  private nameSet(labels: Labels): number {
    let key = '';
    for (const l of labels) key += `${l.name}\0`;
    let set = this.nameSets.get(key);
    if (set === undefined) {
      set = { id: this.nameSets.size, names: labels.map((l) => this.symbol(l.name)) };
      this.nameSets.set(key, set);
    }
    return set.id;
  }

  /** Adds a series with its time-ordered chunks (labels must be greater than the previous series'). */
  async addSeries(labels: Labels, chunks: readonly ChunkData[]): Promise<void> {
    if (chunks.length === 0) return;
    const id = this.seriesCount++;
    const w = this.series;
    w.uvarint(this.nameSet(labels));
    for (const l of labels) {
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
    let prevMaxT = this.minTime;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      w.varint(c.minT - prevMaxT);
      w.uvarint(c.maxT - c.minT);
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
  async finish(maxTime: number, compaction: BlockMeta['compaction']): Promise<BlockMeta> {
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
      minTime: this.minTime,
      maxTime,
      stats: { numSamples: this.numSamples, numSeries: this.seriesCount, numChunks: this.numChunks },
      compaction,
      chunksBytes: this.chunkOffset,
      indexBytes: index.length,
      version: BLOCK_VERSION,
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
    const nameSetsOff = w.len;
    w.uvarint(this.nameSets.size);
    for (const { names } of this.nameSets.values()) {
      w.uvarint(names.length);
      for (const id of names) w.uvarint(id);
    }
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
    w.u32(nameSetsOff);
    w.u32(seriesOff);
    w.u32(postingsOff);
    w.u32(crc32(w.view()));
    return Buffer.from(w.view());
  }
}
