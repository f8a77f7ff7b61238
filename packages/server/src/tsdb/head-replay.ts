/** Rebuilds the head from WAL and checkpoint records. */
import { ByteReader } from './byte-buffer.js';
import type { Head } from './head.js';
import { labelsHash } from './labels-hash.js';
import type { MemSeries } from './mem-series.js';
import { RecordType, decodeChunks, decodeMetadata, decodeSamples, decodeSeries } from './wal-records.js';
import { XorAppender } from './xor-chunk.js';

/** Applies WAL and checkpoint records to a head, in log order. */
export class HeadReplayer {
  private readonly head: Head;
  /** WAL refs that map to a series created under another ref (same labels logged twice). */
  private readonly aliases = new Map<number, MemSeries>();
  private readonly time = new Float64Array(1);
  private readonly value = new Float64Array(1);
  private readonly valueBits = new Uint32Array(this.value.buffer);
  samples = 0;
  unknownRefs = 0;

  constructor(head: Head) {
    this.head = head;
  }

  private lookup(ref: number): MemSeries | undefined {
    return this.head.getByRef(ref) ?? this.aliases.get(ref);
  }

  /** Applies one record; throws RangeError when the payload is malformed. */
  apply(type: RecordType, payload: Buffer): void {
    const r = new ByteReader(payload);
    const head = this.head;
    switch (type) {
      case RecordType.Series:
        decodeSeries(r, (ref, labels) => {
          if (head.getByRef(ref) !== undefined) return;
          const hash = labelsHash(labels);
          const existing = head.getByLabels(labels, hash);
          const s = existing ?? head.create(labels, hash, ref);
          if (existing !== undefined) this.aliases.set(ref, existing);
          s.walLogged = true;
        });
        break;
      case RecordType.Samples:
        decodeSamples(r, this.value, (ref, t) => {
          const s = this.lookup(ref);
          if (s === undefined) {
            this.unknownRefs++;
            return;
          }
          this.time[0] = t;
          head.apply(s, this.time, this.value, this.valueBits, 0, head.minValidTime);
          this.samples++;
        });
        break;
      case RecordType.Metadata:
        decodeMetadata(r, (name, m) => head.metadata.set(name, m));
        break;
      case RecordType.Chunks:
        decodeChunks(r, (ref, chunks, openState) => {
          const s = this.lookup(ref);
          if (s === undefined) {
            this.unknownRefs++;
            return;
          }
          for (let i = 0; i < chunks.length; i++) {
            const c = chunks[i]!;
            if (i === chunks.length - 1 && openState !== null) {
              s.restoreOpenChunk(XorAppender.restore(c.bytes, c.minT, c.maxT, openState), head.blockDurationMs);
            } else {
              s.addClosedChunk(c.bytes, c.minT, c.maxT);
            }
          }
          s.restoreLast();
          if (s.lastT > head.maxT) head.maxT = s.lastT;
          const minT = s.minTime();
          if (minT < head.minT) head.minT = minT;
        });
        break;
    }
  }
}
