/**
 * WAL record payloads. Series records precede any samples that reference their refs; sample
 * values are stored as raw float64 bits; chunk records (checkpoints only) carry head chunks in
 * their compressed form so a checkpoint is about as small as the head itself.
 */
import type { Labels } from '../model/labels.js';
import type { MetricMetadata, MetricType } from '../model/samples.js';
import type { ByteReader, ByteWriter } from './byte-buffer.js';
import { HI_WORD, LO_WORD, type XorEncoderState } from './xor-chunk.js';

/**
 * Record types; the byte stored in each record frame. (4 held chunks of the first chunk format,
 * which is no longer read: a checkpoint holding them replays as corrupt from that record on.)
 */
export const RecordType = { Series: 1, Samples: 2, Metadata: 3, Chunks: 5 } as const;
/** One of the RecordType values. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Whether a frame's type byte is a known record type. */
export function isRecordType(t: number): t is RecordType {
  return (t >= 1 && t <= 3) || t === 5;
}

/** Series record: count, then per series its ref and label pairs. */
export function encodeSeries(w: ByteWriter, series: readonly { ref: number; labels: Labels }[]): void {
  w.uvarint(series.length);
  for (const s of series) {
    w.uvarint(s.ref);
    w.uvarint(s.labels.length);
    for (const l of s.labels) {
      w.string(l.name);
      w.string(l.value);
    }
  }
}

/** Decodes a series record; throws RangeError when malformed. */
export function decodeSeries(r: ByteReader, visit: (ref: number, labels: Labels) => void): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    const ref = r.uvarint();
    const k = r.uvarint();
    const labels: { name: string; value: string }[] = new Array(k);
    for (let j = 0; j < k; j++) labels[j] = { name: r.string(), value: r.string() };
    visit(ref, labels);
  }
}

/** Samples i < n: series refs, times, and value bits as (hi, lo) pairs in `bits`. */
export function encodeSamples(
  w: ByteWriter,
  series: readonly { ref: number }[],
  ts: Float64Array,
  bits: Uint32Array,
  n: number,
): void {
  w.uvarint(n);
  if (n === 0) return;
  const base = ts[0]!;
  w.varint(base);
  // Hot path (every committed sample): write straight into the buffer, sized once up front.
  w.ensure(n * 26);
  const buf = w.buf;
  let pos = w.len;
  for (let i = 0; i < n; i++) {
    let ref = series[i]!.ref;
    while (ref >= 0x80) {
      buf[pos++] = (ref & 0x7f) | 0x80;
      ref >>>= 7;
    }
    buf[pos++] = ref;
    const d = ts[i]! - base;
    let z = d < 0 ? -2 * d - 1 : 2 * d;
    while (z >= 0x80) {
      buf[pos++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    buf[pos++] = z;
    const hi = bits[2 * i + HI_WORD]!;
    const lo = bits[2 * i + LO_WORD]!;
    buf[pos] = lo & 0xff;
    buf[pos + 1] = (lo >>> 8) & 0xff;
    buf[pos + 2] = (lo >>> 16) & 0xff;
    buf[pos + 3] = lo >>> 24;
    buf[pos + 4] = hi & 0xff;
    buf[pos + 5] = (hi >>> 8) & 0xff;
    buf[pos + 6] = (hi >>> 16) & 0xff;
    buf[pos + 7] = hi >>> 24;
    pos += 8;
  }
  w.len = pos;
}

/** Decodes samples; each value is placed bit-exactly in `value[0]` before `visit` is called. */
export function decodeSamples(
  r: ByteReader,
  value: Float64Array,
  visit: (ref: number, t: number) => void,
): void {
  const n = r.uvarint();
  if (n === 0) return;
  const base = r.varint();
  const vb = new Uint32Array(value.buffer, value.byteOffset, 2);
  for (let i = 0; i < n; i++) {
    const ref = r.uvarint();
    const t = base + r.varint();
    r.f64bits();
    vb[HI_WORD] = r.hi;
    vb[LO_WORD] = r.lo;
    visit(ref, t);
  }
}

/** Metadata record: count, then per metric name its type, help and unit. */
export function encodeMetadata(w: ByteWriter, entries: readonly (readonly [string, MetricMetadata])[]): void {
  w.uvarint(entries.length);
  for (const [name, m] of entries) {
    w.string(name);
    w.string(m.type);
    w.string(m.help);
    w.string(m.unit);
  }
}

const METRIC_TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

/** Decodes a metadata record (unknown types become "unknown"); throws RangeError when malformed. */
export function decodeMetadata(r: ByteReader, visit: (name: string, m: MetricMetadata) => void): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    const name = r.string();
    const type = r.string();
    const help = r.string();
    const unit = r.string();
    visit(name, { type: METRIC_TYPES.has(type) ? (type as MetricType) : 'unknown', help, unit });
  }
}

/** One series' chunks for a checkpoint; when `openState` is set the last chunk is still appendable. */
export interface SeriesChunks {
  readonly ref: number;
  readonly chunks: readonly { bytes: Uint8Array; minT: number; maxT: number }[];
  readonly openState: XorEncoderState | null;
}

/** Chunks record (checkpoints): per series its ref, its chunks, and the open chunk's encoder state. */
export function encodeChunks(w: ByteWriter, entries: readonly SeriesChunks[]): void {
  w.uvarint(entries.length);
  for (const e of entries) {
    w.uvarint(e.ref);
    w.uvarint(e.chunks.length);
    for (const c of e.chunks) {
      w.varint(c.minT);
      w.uvarint(c.maxT - c.minT);
      w.uvarint(c.bytes.length);
      w.bytes(c.bytes);
    }
    const st = e.openState;
    w.u8(st === null ? 0 : 1);
    if (st !== null) {
      w.uvarint(st.bitLength);
      w.varint(st.tDelta);
      w.u32(st.hi);
      w.u32(st.lo);
      w.u8(st.leading);
      w.u8(st.trailing);
      w.u8(st.scale + 1);
      if (st.scale >= 0) {
        const valid = !Number.isNaN(st.mPrev);
        w.u8(valid ? 1 : 0);
        if (valid) {
          w.varint(st.mPrev);
          w.varint(st.dPrev);
        }
      }
    }
  }
}

function decodeEncoderState(r: ByteReader): XorEncoderState {
  const bitLength = r.uvarint();
  const tDelta = r.varint();
  const hi = r.u32();
  const lo = r.u32();
  const leading = r.u8();
  const trailing = r.u8();
  const scale = r.u8() - 1;
  let mPrev = NaN;
  let dPrev = 0;
  if (scale >= 0 && r.u8() === 1) {
    mPrev = r.varint();
    dPrev = r.varint();
  }
  return { bitLength, tDelta, hi, lo, leading, trailing, scale, mPrev, dPrev };
}

/** Decodes a chunks record; chunk bytes are views into the payload. Throws RangeError when malformed. */
export function decodeChunks(
  r: ByteReader,
  visit: (ref: number, chunks: { bytes: Uint8Array; minT: number; maxT: number }[], openState: XorEncoderState | null) => void,
): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    const ref = r.uvarint();
    const k = r.uvarint();
    const chunks: { bytes: Uint8Array; minT: number; maxT: number }[] = [];
    for (let j = 0; j < k; j++) {
      const minT = r.varint();
      const maxT = minT + r.uvarint();
      const len = r.uvarint();
      chunks.push({ bytes: r.bytes(len), minT, maxT });
    }
    const openState = r.u8() === 1 ? decodeEncoderState(r) : null;
    visit(ref, chunks, openState);
  }
}
