/**
 * WAL checkpoints: a snapshot of the head (series, compressed chunks, out-of-order samples,
 * metadata) written to `checkpoint.N/` so segments up to N can be deleted and replay stays short.
 * Written to a temp dir, fsynced and renamed, so a crash leaves either the old or the new one.
 */
import { mkdir, readdir, rename, rm, stat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteWriter } from './byte-buffer.js';
import type { Head } from './head.js';
import type { MemSeries } from './mem-series.js';
import { checkpointName, recordHeader, segmentName, syncDir } from './wal.js';
import { RecordType, encodeChunks, encodeMetadata, encodeSamples, encodeSeries, type SeriesChunks } from './wal-records.js';

const SERIES_PER_RECORD = 1000;

/**
 * Snapshots the head into `checkpoint.<upToSegment>` and removes older checkpoints. Every record
 * in segments <= upToSegment must already be applied to the head. Returns the checkpoint's size.
 */
export async function writeCheckpoint(walDir: string, head: Head, upToSegment: number): Promise<number> {
  const final = join(walDir, checkpointName(upToSegment));
  const tmp = `${final}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const fh = await open(join(tmp, segmentName(0)), 'w');
  let size = 0;
  const write = async (type: RecordType, w: ByteWriter): Promise<void> => {
    const payload = w.view();
    const data = Buffer.concat([recordHeader(type, payload), payload]);
    size += data.length;
    let off = 0;
    while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
  };
  try {
    const all = [...head.allSeries()].filter((s) => s.walLogged && !s.deleted);
    for (let i = 0; i < all.length; i += SERIES_PER_RECORD) {
      // Encoded synchronously per batch: the open chunks are copied before any further append.
      const batch = all.slice(i, i + SERIES_PER_RECORD).filter((s) => !s.deleted);
      const series = new ByteWriter(batch.length * 64);
      encodeSeries(series, batch);
      const chunks = new ByteWriter(batch.length * 256);
      encodeChunks(chunks, batch.map(seriesChunks));
      const ooo = oooSamples(batch);
      await write(RecordType.Series, series);
      await write(RecordType.Chunks, chunks);
      if (ooo !== null) await write(RecordType.Samples, ooo);
    }
    if (head.metadata.size > 0) {
      const meta = new ByteWriter(head.metadata.size * 64);
      encodeMetadata(meta, [...head.metadata]);
      await write(RecordType.Metadata, meta);
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  await syncDir(walDir);
  for (const name of await readdir(walDir)) {
    if (name.startsWith('checkpoint.') && name !== checkpointName(upToSegment) && (await stat(join(walDir, name))).isDirectory()) {
      await rm(join(walDir, name), { recursive: true, force: true });
    }
  }
  return size;
}

function seriesChunks(s: MemSeries): SeriesChunks {
  const n = s.chunkCount();
  const chunks: { bytes: Uint8Array; minT: number; maxT: number }[] = [];
  for (let i = 0; i < n; i++) chunks.push(s.chunk(i));
  return { ref: s.ref, chunks, openState: s.open === null ? null : s.open.state() };
}

function oooSamples(batch: readonly MemSeries[]): ByteWriter | null {
  let n = 0;
  for (const s of batch) if (s.ooo !== null) n += s.ooo.count;
  if (n === 0) return null;
  const refs: MemSeries[] = [];
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  let k = 0;
  for (const s of batch) {
    const o = s.ooo;
    if (o === null) continue;
    ts.set(o.t.subarray(0, o.count), k);
    vs.set(o.v.subarray(0, o.count), k);
    for (let i = 0; i < o.count; i++) refs.push(s);
    k += o.count;
  }
  const w = new ByteWriter(n * 16 + 16);
  encodeSamples(w, refs, ts, new Uint32Array(vs.buffer), n);
  return w;
}

/** Total bytes of the newest checkpoint (0 when none). */
export async function checkpointSize(walDir: string, index: number | null): Promise<number> {
  if (index === null) return 0;
  try {
    return (await stat(join(walDir, checkpointName(index), segmentName(0)))).size;
  } catch {
    return 0;
  }
}
