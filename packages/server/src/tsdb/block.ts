/**
 * A persisted block opened for reading. The index is read and checked (CRC32) on open and kept
 * in memory; chunk bytes are read on demand with coalesced positional reads, each chunk checked
 * against its CRC32. Damage is reported as CorruptBlockError, never as a crash.
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Label, Labels } from '../model/labels.js';
import type { CompiledMatcher } from '../model/matchers.js';
import type { SeriesData } from '../storage/interfaces.js';
import { ByteReader } from './byte-buffer.js';
import { BLOCK_VERSION, CHUNK_CRC_BYTES, CHUNKS_MAGIC, INDEX_MAGIC, type BlockMeta } from './block-writer.js';
import { postingsForMatchers, type PostingsReader } from './postings.js';
import { chunkSampleCount, decodeXorChunk } from './xor-chunk.js';

/** A block file is missing, truncated or fails a checksum; the block is quarantined. */
export class CorruptBlockError extends Error {
  override readonly name = 'CorruptBlockError';
}

/** A chunk's place in the chunks file. */
export interface ChunkMeta {
  readonly minT: number;
  readonly maxT: number;
  readonly offset: number;
  readonly length: number;
}

/** One series of a block: labels and chunk references. */
export interface BlockSeries {
  readonly labels: Labels;
  readonly chunks: ChunkMeta[];
}

const EMPTY = new Uint32Array(0);
/** Reads closer together than this are merged into one. */
const COALESCE_GAP = 64 << 10;
const MAX_READ = 16 << 20;

/** A read-only persisted block; also the postings reader for matcher selection over it. */
export class Block implements PostingsReader {
  readonly dir: string;
  readonly meta: BlockMeta;
  private readonly index: Buffer;
  private readonly symbols: string[];
  /** Label-name lists by id (series share them). */
  private readonly nameSets: string[][];
  private readonly seriesOffsets: Uint32Array;
  /** Per series, where its first chunk starts in the chunks file (offsets are implicit in the index). */
  private readonly chunkStarts: Float64Array;
  /** label name -> value -> byte offset of the postings list in `index`. */
  private readonly postingsAt: Map<string, Map<string, number>>;
  private readonly chunks: FileHandle;
  private all: Uint32Array | null = null;
  readonly sizeBytes: number;
  /** Reads in flight; close() waits for them so retention never pulls a file from under a query. */
  private reading = 0;
  private readsDone: (() => void) | null = null;

  private constructor(dir: string, meta: BlockMeta, index: Buffer, chunks: FileHandle) {
    this.dir = dir;
    this.meta = meta;
    this.index = index;
    this.chunks = chunks;
    this.sizeBytes = meta.chunksBytes + meta.indexBytes;
    const end = index.length - 20;
    const symbolsOff = index.readUInt32BE(end);
    const nameSetsOff = index.readUInt32BE(end + 4);
    const seriesOff = index.readUInt32BE(end + 8);
    const postingsOff = index.readUInt32BE(end + 12);
    const r = new ByteReader(index, symbolsOff, nameSetsOff);
    const nsym = r.uvarint();
    this.symbols = new Array<string>(nsym);
    for (let i = 0; i < nsym; i++) this.symbols[i] = r.string();
    const ns = new ByteReader(index, nameSetsOff, seriesOff);
    const nsets = ns.uvarint();
    this.nameSets = new Array<string[]>(nsets);
    for (let i = 0; i < nsets; i++) {
      const names = new Array<string>(ns.uvarint());
      for (let j = 0; j < names.length; j++) names[j] = this.sym(ns.uvarint());
      this.nameSets[i] = names;
    }
    const s = new ByteReader(index, seriesOff, postingsOff);
    const nseries = s.uvarint();
    this.seriesOffsets = new Uint32Array(nseries);
    this.chunkStarts = new Float64Array(nseries);
    let chunkOffset = 4;
    for (let i = 0; i < nseries; i++) {
      this.seriesOffsets[i] = s.pos;
      this.chunkStarts[i] = chunkOffset;
      const nl = this.namesOf(s.uvarint()).length;
      for (let j = 0; j < nl; j++) s.uvarint();
      const nc = s.uvarint();
      for (let j = 0; j < nc; j++) {
        s.uvarint();
        s.uvarint();
        chunkOffset += s.uvarint() + CHUNK_CRC_BYTES;
      }
    }
    if (chunkOffset !== meta.chunksBytes) throw new CorruptBlockError(`block ${dir}: index lists ${chunkOffset} bytes of chunks, the chunks file has ${meta.chunksBytes}`);
    this.postingsAt = new Map();
    const p = new ByteReader(index, postingsOff, end);
    const nnames = p.uvarint();
    for (let i = 0; i < nnames; i++) {
      const name = this.sym(p.uvarint());
      const values = new Map<string, number>();
      const nv = p.uvarint();
      for (let j = 0; j < nv; j++) {
        const value = this.sym(p.uvarint());
        values.set(value, p.pos);
        const n = p.uvarint();
        for (let k = 0; k < n; k++) p.uvarint();
      }
      this.postingsAt.set(name, values);
    }
  }

  /** Opens and checks a block directory; throws CorruptBlockError when anything is missing or damaged. */
  static async open(dir: string): Promise<Block> {
    let meta: BlockMeta;
    let index: Buffer;
    try {
      meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as BlockMeta;
      index = await readFile(join(dir, 'index'));
    } catch (err) {
      throw new CorruptBlockError(`block ${dir} unreadable: ${(err as Error).message}`);
    }
    if (typeof meta.version === 'number' && meta.version !== BLOCK_VERSION) {
      throw new CorruptBlockError(`block ${dir}: block format version ${meta.version} is not read by this version (it reads ${BLOCK_VERSION})`);
    }
    if (
      meta.version !== BLOCK_VERSION ||
      typeof meta.minTime !== 'number' ||
      typeof meta.maxTime !== 'number' ||
      typeof meta.chunksBytes !== 'number' ||
      typeof meta.indexBytes !== 'number' ||
      typeof meta.compaction?.level !== 'number' ||
      !Array.isArray(meta.compaction.sources)
    ) {
      throw new CorruptBlockError(`block ${dir}: invalid meta.json`);
    }
    if (index.length < 24 || index.readUInt32BE(0) !== INDEX_MAGIC) throw new CorruptBlockError(`block ${dir}: index truncated or not an index`);
    if (crc32(index.subarray(0, index.length - 4)) !== index.readUInt32BE(index.length - 4)) {
      throw new CorruptBlockError(`block ${dir}: index checksum mismatch`);
    }
    const chunksPath = join(dir, 'chunks');
    let size: number;
    try {
      size = (await stat(chunksPath)).size;
    } catch (err) {
      throw new CorruptBlockError(`block ${dir}: chunks file missing: ${(err as Error).message}`);
    }
    if (size !== meta.chunksBytes) throw new CorruptBlockError(`block ${dir}: chunks file is ${size} bytes, expected ${meta.chunksBytes}`);
    const fh = await open(chunksPath, 'r');
    try {
      const magic = Buffer.alloc(4);
      await fh.read(magic, 0, 4, 0);
      if (magic.readUInt32BE(0) !== CHUNKS_MAGIC) throw new CorruptBlockError(`block ${dir}: chunks file has a bad header`);
      return new Block(dir, meta, index, fh);
    } catch (err) {
      await fh.close();
      if (err instanceof CorruptBlockError) throw err;
      throw new CorruptBlockError(`block ${dir}: index is malformed: ${(err as Error).message}`);
    }
  }

  get minT(): number {
    return this.meta.minTime;
  }

  /** Exclusive end. */
  get maxT(): number {
    return this.meta.maxTime;
  }

  get numSeries(): number {
    return this.seriesOffsets.length;
  }

  private sym(id: number): string {
    const s = this.symbols[id];
    if (s === undefined) throw new CorruptBlockError(`block ${this.dir}: symbol ${id} out of range`);
    return s;
  }

  private namesOf(id: number): string[] {
    const names = this.nameSets[id];
    if (names === undefined) throw new CorruptBlockError(`block ${this.dir}: label-name list ${id} out of range`);
    return names;
  }

  postings(name: string, value: string): ArrayLike<number> {
    const at = this.postingsAt.get(name)?.get(value);
    if (at === undefined) return EMPTY;
    const r = new ByteReader(this.index, at);
    const n = r.uvarint();
    const out = new Uint32Array(n);
    let id = 0;
    for (let i = 0; i < n; i++) {
      id += r.uvarint();
      out[i] = id;
    }
    return out;
  }

  labelValues(name: string): Iterable<string> {
    return this.postingsAt.get(name)?.keys() ?? [];
  }

  labelNames(): Iterable<string> {
    return this.postingsAt.keys();
  }

  allPostings(): ArrayLike<number> {
    if (this.all === null) {
      this.all = new Uint32Array(this.seriesOffsets.length);
      for (let i = 0; i < this.all.length; i++) this.all[i] = i;
    }
    return this.all;
  }

  /** Decodes series `id`'s labels and chunk references. */
  seriesAt(id: number): BlockSeries {
    const r = new ByteReader(this.index, this.seriesOffsets[id]!);
    const names = this.namesOf(r.uvarint());
    const labels: Label[] = new Array<Label>(names.length);
    for (let i = 0; i < names.length; i++) labels[i] = { name: names[i]!, value: this.sym(r.uvarint()) };
    const nc = r.uvarint();
    const chunks: ChunkMeta[] = new Array<ChunkMeta>(nc);
    let prevMaxT = this.meta.minTime;
    let offset = this.chunkStarts[id]!;
    for (let i = 0; i < nc; i++) {
      const minT = prevMaxT + r.varint();
      const maxT = minT + r.uvarint();
      const length = r.uvarint();
      chunks[i] = { minT, maxT, offset, length };
      offset += length + CHUNK_CRC_BYTES;
      prevMaxT = maxT;
    }
    return { labels, chunks };
  }

  /** Ids of series matching the matchers (ascending = label order). */
  matching(matchers: readonly CompiledMatcher[]): Uint32Array {
    return postingsForMatchers(this, matchers);
  }

  /**
   * Reads the bytes of many chunks (in any order) with few large reads; returns them in the
   * order given, each checked against its CRC32.
   */
  async readChunks(metas: readonly ChunkMeta[]): Promise<Uint8Array[]> {
    this.reading++;
    try {
      return await this.readChunksNow(metas);
    } finally {
      this.reading--;
      if (this.reading === 0 && this.readsDone !== null) this.readsDone();
    }
  }

  private async readChunksNow(metas: readonly ChunkMeta[]): Promise<Uint8Array[]> {
    const order = metas.map((_, i) => i).sort((a, b) => metas[a]!.offset - metas[b]!.offset);
    const out: Uint8Array[] = new Array<Uint8Array>(metas.length);
    let i = 0;
    while (i < order.length) {
      const first = metas[order[i]!]!;
      let end = first.offset + first.length + CHUNK_CRC_BYTES;
      let j = i + 1;
      while (j < order.length) {
        const m = metas[order[j]!]!;
        const mEnd = m.offset + m.length + CHUNK_CRC_BYTES;
        if (m.offset - end > COALESCE_GAP || mEnd - first.offset > MAX_READ) break;
        end = Math.max(end, mEnd);
        j++;
      }
      const buf = Buffer.allocUnsafe(end - first.offset);
      const { bytesRead } = await this.chunks.read(buf, 0, buf.length, first.offset);
      if (bytesRead !== buf.length) throw new CorruptBlockError(`block ${this.dir}: chunks file truncated at ${first.offset + bytesRead}`);
      for (let k = i; k < j; k++) {
        const m = metas[order[k]!]!;
        const start = m.offset - first.offset;
        const bytes = buf.subarray(start, start + m.length);
        if (crc32(bytes) !== buf.readUInt32BE(start + m.length)) {
          throw new CorruptBlockError(`block ${this.dir}: chunk at offset ${m.offset} fails its checksum`);
        }
        out[order[k]!] = bytes;
      }
      i = j;
    }
    return out;
  }

  /** Matching series with their samples in [lo, hi], sorted by labels. */
  async select(matchers: readonly CompiledMatcher[], lo: number, hi: number): Promise<SeriesData[]> {
    if (hi < this.minT || lo >= this.maxT) return [];
    const ids = this.matching(matchers);
    const series: BlockSeries[] = [];
    const wanted: ChunkMeta[] = [];
    for (let i = 0; i < ids.length; i++) {
      const s = this.seriesAt(ids[i]!);
      const chunks = s.chunks.filter((c) => c.maxT >= lo && c.minT <= hi);
      if (chunks.length === 0) continue;
      series.push({ labels: s.labels, chunks });
      for (const c of chunks) wanted.push(c);
    }
    const bytes = await this.readChunks(wanted);
    const out: SeriesData[] = [];
    let k = 0;
    for (const s of series) {
      let total = 0;
      for (let c = 0; c < s.chunks.length; c++) total += chunkSampleCount(bytes[k + c]!);
      const t = new Float64Array(total);
      const v = new Float64Array(total);
      let n = 0;
      try {
        for (let c = 0; c < s.chunks.length; c++) n += decodeXorChunk(bytes[k + c]!, s.chunks[c]!.minT, t, v, n);
      } catch (err) {
        throw new CorruptBlockError(`block ${this.dir}: undecodable chunk: ${(err as Error).message}`);
      }
      k += s.chunks.length;
      let w = 0;
      for (let r = 0; r < n; r++) {
        const ts = t[r]!;
        if (ts < lo || ts > hi) continue;
        if (w !== r) {
          t[w] = ts;
          v.copyWithin(w, r, r + 1);
        }
        w++;
      }
      if (w > 0) out.push({ labels: s.labels, timestamps: t.subarray(0, w), values: v.subarray(0, w) });
    }
    return out;
  }

  /** Label sets of matching series that have chunks overlapping [lo, hi], sorted. */
  seriesLabels(matchers: readonly CompiledMatcher[], lo: number, hi: number): Labels[] {
    if (hi < this.minT || lo >= this.maxT) return [];
    const ids = this.matching(matchers);
    const out: Labels[] = [];
    for (let i = 0; i < ids.length; i++) {
      const s = this.seriesAt(ids[i]!);
      if (s.chunks.some((c) => c.maxT >= lo && c.minT <= hi)) out.push(s.labels);
    }
    return out;
  }

  /** Closes the chunks file once reads in flight have finished. */
  async close(): Promise<void> {
    if (this.reading > 0) await new Promise<void>((resolve) => (this.readsDone = resolve));
    await this.chunks.close();
  }
}
