/**
 * Turning data into blocks: cutting the head's oldest range into a block, planning which
 * adjacent blocks to merge (Prometheus's exponential ranges), and merging them. Chunks are
 * copied as they are unless their samples must be merged (out-of-order data, overlaps).
 */
import { compareLabels, type Labels } from '../model/labels.js';
import type { Block, BlockSeries } from './block.js';
import { BlockWriter, ulid, type BlockMeta, type ChunkData } from './block-writer.js';
import type { Head } from './head.js';
import type { MemSeries } from './mem-series.js';
import { mergeSamples } from './mem-series.js';
import { SAMPLES_PER_CHUNK, XorAppender, chunkSampleCount, decodeXorChunk } from './xor-chunk.js';

/** Block ranges for compaction: block duration times 3^k, up to a tenth of retention (at most 31 days). */
export function compactionRanges(blockDurationMs: number, retentionMs: number): number[] {
  const limit = Math.min(retentionMs > 0 ? retentionMs / 10 : Infinity, 31 * 24 * 3600_000);
  const ranges = [blockDurationMs];
  while (ranges[ranges.length - 1]! * 3 <= limit) ranges.push(ranges[ranges.length - 1]! * 3);
  return ranges;
}

/**
 * Picks blocks to merge: at the smallest range with a complete, aligned window holding more than
 * one block. Blocks must be sorted by minTime. Returns null when nothing is to be done.
 */
export function planCompaction(blocks: readonly Block[], ranges: readonly number[]): Block[] | null {
  if (blocks.length < 2) return null;
  const newestMaxT = blocks[blocks.length - 1]!.maxT;
  for (const r of ranges.slice(1)) {
    const groups = new Map<number, Block[]>();
    for (const b of blocks) {
      if (b.maxT - b.minT >= r) continue;
      const start = Math.floor(b.minT / r) * r;
      if (b.maxT > start + r) continue;
      const g = groups.get(start);
      if (g) g.push(b);
      else groups.set(start, [b]);
    }
    for (const [start, g] of groups) if (g.length > 1 && start + r <= newestMaxT) return g;
  }
  return null;
}

/** Encodes time-sorted samples into chunks of up to 120 samples. */
export function encodeChunks(t: Float64Array, v: Float64Array, n: number): ChunkData[] {
  const out: ChunkData[] = [];
  // Values go over as raw bits so NaN payloads (staleness markers) are kept exactly.
  const bits = new Uint32Array(v.buffer, v.byteOffset, n * 2);
  let a: XorAppender | null = null;
  for (let i = 0; i < n; i++) {
    if (a === null || a.count >= SAMPLES_PER_CHUNK) {
      if (a !== null) out.push({ bytes: a.finish(), minT: a.minT, maxT: a.maxT });
      a = new XorAppender(256);
    }
    a.appendAt(t, bits, i);
  }
  if (a !== null) out.push({ bytes: a.finish(), minT: a.minT, maxT: a.maxT });
  return out;
}

/** Decodes chunks into one sorted, de-duplicated run (the earlier sample wins on equal times). */
function mergeChunkSamples(chunks: readonly ChunkData[]): { t: Float64Array; v: Float64Array; n: number } {
  let t: Float64Array = new Float64Array(0);
  let v: Float64Array = new Float64Array(0);
  let n = 0;
  for (const c of chunks) {
    const k = chunkSampleCount(c.bytes);
    const ct = new Float64Array(k);
    const cv = new Float64Array(k);
    decodeXorChunk(c.bytes, c.minT, ct, cv, 0);
    const m = mergeSamples(t, v, n, ct, cv, k, -Infinity, Infinity);
    t = m.t;
    v = m.v;
    n = m.n;
  }
  return { t, v, n };
}

/** Chunks as they are when time-ordered without overlap, else re-encoded from merged samples. */
function normalise(chunks: ChunkData[]): ChunkData[] {
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i]!.minT <= chunks[i - 1]!.maxT) {
      const m = mergeChunkSamples([...chunks].sort((a, b) => a.minT - b.minT));
      return encodeChunks(m.t, m.v, m.n);
    }
  }
  return chunks;
}

/** One head series' data in [mint, maxt): its own chunks when they fit the range, else re-encoded. */
function headSeriesChunks(s: MemSeries, mint: number, maxt: number): ChunkData[] {
  const n = s.chunkCount();
  const out: ChunkData[] = [];
  let clean = s.ooo === null || s.ooo.count === 0 || s.ooo.t[0]! >= maxt || s.ooo.t[s.ooo.count - 1]! < mint;
  for (let i = 0; i < n && clean; i++) {
    const c = s.chunk(i);
    if (c.maxT < mint || c.minT >= maxt) continue;
    if (c.minT < mint || c.maxT >= maxt) clean = false;
    // Copy: the open chunk keeps changing after this call.
    else out.push({ bytes: c.bytes.slice(), minT: c.minT, maxT: c.maxT });
  }
  if (clean) return out;
  const data = s.samples(mint, maxt - 1);
  return data === null ? [] : encodeChunks(data.t, data.v, data.t.length);
}

/** Writes the head's samples in [mint, maxt) as a block; null when there are none. */
export async function writeHeadBlock(parentDir: string, head: Head, mint: number, maxt: number, nowMs: number): Promise<BlockMeta | null> {
  const series = [...head.allSeries()].filter((s) => s.minTime() < maxt && s.maxTime() >= mint);
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  const w = new BlockWriter(parentDir, ulid(nowMs), mint);
  await w.start();
  try {
    for (const s of series) {
      // Read synchronously right before writing: the head may change while the writer awaits.
      await w.addSeries(s.labels, headSeriesChunks(s, mint, maxt));
    }
    if (w.empty) {
      await w.abort();
      return null;
    }
    return await w.finish(maxt, { level: 1, sources: [w.name] });
  } catch (err) {
    await w.abort();
    throw err;
  }
}

const MERGE_BATCH = 512;

/** Merges blocks (sorted by time) into one new block and returns its meta. */
export async function mergeBlocks(parentDir: string, blocks: readonly Block[], nowMs: number): Promise<BlockMeta> {
  const w = new BlockWriter(parentDir, ulid(nowMs), Math.min(...blocks.map((b) => b.minT)));
  await w.start();
  try {
    const cursors = blocks.map(() => 0);
    let pending: { labels: Labels; parts: { block: Block; series: BlockSeries }[] }[] = [];
    const flush = async (): Promise<void> => {
      // Per block, read every chunk of the batch at once (coalesced, sequential in the file).
      const loaded = new Map<BlockSeries, ChunkData[]>();
      for (const b of blocks) {
        const mine = pending.flatMap((p) => p.parts.filter((x) => x.block === b).map((x) => x.series));
        const metas = mine.flatMap((s) => s.chunks);
        const bytes = await b.readChunks(metas);
        let k = 0;
        for (const s of mine) {
          loaded.set(
            s,
            s.chunks.map((c) => ({ bytes: bytes[k++]!, minT: c.minT, maxT: c.maxT })),
          );
        }
      }
      for (const p of pending) await w.addSeries(p.labels, normalise(p.parts.flatMap((x) => loaded.get(x.series)!)));
      pending = [];
    };
    for (;;) {
      let min: Labels | null = null;
      for (let i = 0; i < blocks.length; i++) {
        if (cursors[i]! >= blocks[i]!.numSeries) continue;
        const l = blocks[i]!.seriesAt(cursors[i]!).labels;
        if (min === null || compareLabels(l, min) < 0) min = l;
      }
      if (min === null) break;
      const parts: { block: Block; series: BlockSeries }[] = [];
      for (let i = 0; i < blocks.length; i++) {
        if (cursors[i]! >= blocks[i]!.numSeries) continue;
        const s = blocks[i]!.seriesAt(cursors[i]!);
        if (compareLabels(s.labels, min) === 0) {
          parts.push({ block: blocks[i]!, series: s });
          cursors[i] = cursors[i]! + 1;
        }
      }
      pending.push({ labels: min, parts });
      if (pending.length >= MERGE_BATCH) await flush();
    }
    await flush();
    const level = Math.max(...blocks.map((b) => b.meta.compaction.level)) + 1;
    const sources = blocks.flatMap((b) => b.meta.compaction.sources);
    return await w.finish(Math.max(...blocks.map((b) => b.maxT)), { level, sources });
  } catch (err) {
    await w.abort();
    throw err;
  }
}
