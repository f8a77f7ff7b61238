/**
 * The head: the in-memory, compressed, indexed part of the TSDB holding the newest samples.
 * Series are found by label hash or ref; postings index them for matcher selection. The head is
 * truncated after its old range is cut into a block, which drops inactive series (churn).
 */
import { compareLabels, getLabel, labelsEqual, METRIC_NAME, type Labels } from '../model/labels.js';
import type { CompiledMatcher } from '../model/matchers.js';
import type { MetricMetadata } from '../model/samples.js';
import type { AppendErrorCode, TsdbStatus } from '../storage/interfaces.js';
import { BytePool } from './byte-pool.js';
import { labelsHash } from './labels-hash.js';
import { MemSeries, OooBuffer } from './mem-series.js';
import { HI_WORD, LO_WORD } from './xor-chunk.js';
import { MemPostings, postingsForMatchers } from './postings.js';
import { SeriesTable } from './series-table.js';

/** Outcome of applying one sample to the head. */
export const ApplyResult = {
  Appended: 0,
  AppendedOutOfOrder: 1,
  /** Same timestamp and identical value bits as the stored sample: accepted, nothing stored. */
  Duplicate: 2,
  OutOfOrder: 3,
  DuplicateTimestamp: 4,
  TooOld: 5,
  OutOfBounds: 6,
} as const;

/** One of the ApplyResult codes. */
export type ApplyResult = (typeof ApplyResult)[keyof typeof ApplyResult];

/** The AppendError code of each rejecting ApplyResult. */
export const REJECT_CODES: readonly (AppendErrorCode | null)[] = [
  null,
  null,
  null,
  'out_of_order',
  'duplicate_sample_for_timestamp',
  'too_old',
  'out_of_bounds',
];

/** Head settings (both in ms). */
export interface HeadOptions {
  readonly blockDurationMs: number;
  readonly outOfOrderWindowMs: number;
}

/** The in-memory head: series, postings, metadata, and the ingest rules. */
export class Head {
  readonly blockDurationMs: number;
  readonly outOfOrderWindowMs: number;
  /** Series by label hash; a colliding hash holds an array. */
  private readonly byHash = new Map<number, MemSeries | MemSeries[]>();
  private readonly byRef = new SeriesTable();
  readonly postings = new MemPostings();
  readonly metadata = new Map<string, MetricMetadata>();
  /** Chunk buffers of all head series. */
  private readonly pool = new BytePool();
  private nextRef = 1;
  /** Samples older than this are rejected: that range already lives in blocks. */
  minValidTime = -Infinity;
  /** Newest sample time in the head, -Infinity when empty. */
  maxT = -Infinity;
  /** Oldest sample time in the head (may be stale-low after appends; exact after truncate). */
  minT = Infinity;
  /** While replaying, out-of-order samples are accepted regardless of the window (they were accepted once). */
  replaying = false;

  constructor(opts: HeadOptions) {
    this.blockDurationMs = opts.blockDurationMs;
    this.outOfOrderWindowMs = opts.outOfOrderWindowMs;
  }

  get numSeries(): number {
    return this.byRef.size;
  }

  /** The series with exactly these labels; `hash` is labelsHash(labels). */
  getByLabels(labels: Labels, hash: number): MemSeries | undefined {
    const e = this.byHash.get(hash);
    if (e === undefined) return undefined;
    if (e instanceof MemSeries) return labelsEqual(e.labels, labels) ? e : undefined;
    for (const s of e) if (labelsEqual(s.labels, labels)) return s;
    return undefined;
  }

  getByRef(ref: number): MemSeries | undefined {
    return this.byRef.get(ref);
  }

  /** Creates a series (labels must be valid and not present). `ref` is given when replaying. */
  create(labels: Labels, hash: number, ref = this.nextRef): MemSeries {
    const interned = this.postings.add(ref, labels);
    const s = new MemSeries(ref, interned, hash, this.pool);
    const e = this.byHash.get(hash);
    if (e === undefined) this.byHash.set(hash, s);
    else if (e instanceof MemSeries) this.byHash.set(hash, [e, s]);
    else e.push(s);
    this.byRef.set(ref, s);
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    return s;
  }

  /** Finds or creates the series for `labels` (used on replay and when a series left the head mid-batch). */
  getOrCreate(labels: Labels): MemSeries {
    const hash = labelsHash(labels);
    return this.getByLabels(labels, hash) ?? this.create(labels, hash);
  }

  /**
   * The oldest time an append may have, as in Prometheus: never inside persisted blocks, and
   * no older than half a block range (or the out-of-order window, if larger) before the newest
   * sample. Replay is exempt from the second rule: those samples were accepted once.
   */
  appendableMinValidTime(): number {
    if (this.replaying || this.maxT === -Infinity) return this.minValidTime;
    return Math.max(this.minValidTime, this.maxT - Math.max(this.blockDurationMs / 2, this.outOfOrderWindowMs));
  }

  /**
   * Applies sample `i` of the arrays (time ts[i], value vs[i] whose bits are vBits[2i..2i+1],
   * a Uint32Array view of vs) following Prometheus's ingest rules. `minValid` is
   * appendableMinValidTime() taken once per batch, before any of it was applied.
   */
  apply(s: MemSeries, ts: Float64Array, vs: Float64Array, vBits: Uint32Array, i: number, minValid: number): ApplyResult {
    const t = ts[i]!;
    if (t < minValid) return t < this.minValidTime || this.outOfOrderWindowMs <= 0 ? ApplyResult.OutOfBounds : ApplyResult.TooOld;
    if (t > s.lastT) {
      s.appendInOrder(ts, vBits, i, this.blockDurationMs);
      if (t > this.maxT) this.maxT = t;
      if (t < this.minT) this.minT = t;
      return ApplyResult.Appended;
    }
    if (t === s.lastT) {
      return vBits[2 * i + HI_WORD] === s.lastHi && vBits[2 * i + LO_WORD] === s.lastLo ? ApplyResult.Duplicate : ApplyResult.DuplicateTimestamp;
    }
    if (this.outOfOrderWindowMs <= 0) return ApplyResult.OutOfOrder;
    if (t < this.maxT - this.outOfOrderWindowMs && !this.replaying) return ApplyResult.TooOld;
    if (s.ooo === null) s.ooo = new OooBuffer();
    if (!s.ooo.insert(t, vs, i)) return ApplyResult.Duplicate;
    if (t < this.minT) this.minT = t;
    return ApplyResult.AppendedOutOfOrder;
  }

  /**
   * Drops data before `mint` and the series left empty, and rejects later appends before `mint`.
   * Returns the number of series removed.
   */
  truncate(mint: number): number {
    if (mint > this.minValidTime) this.minValidTime = mint;
    const removed = new Set<number>();
    let minT = Infinity;
    for (const s of this.byRef.values()) {
      if (s.truncate(mint)) {
        removed.add(s.ref);
        s.deleted = true;
        this.forget(s);
        this.byRef.delete(s.ref);
      } else {
        const t = s.minTime();
        if (t < minT) minT = t;
      }
    }
    this.postings.delete(removed);
    this.minT = minT;
    return removed.size;
  }

  private forget(s: MemSeries): void {
    const e = this.byHash.get(s.hash);
    if (e === s) this.byHash.delete(s.hash);
    else if (Array.isArray(e)) {
      const rest = e.filter((x) => x !== s);
      this.byHash.set(s.hash, rest.length === 1 ? rest[0]! : rest);
    }
  }

  /** Every series, in no particular order. */
  allSeries(): IterableIterator<MemSeries> {
    return this.byRef.values();
  }

  /** Series matching the matchers with samples in [lo, hi], sorted by labels. */
  select(matchers: readonly CompiledMatcher[], lo: number, hi: number): MemSeries[] {
    const refs = postingsForMatchers(this.postings, matchers);
    const out: MemSeries[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = this.byRef.get(refs[i]!);
      if (s !== undefined && s.minTime() <= hi && s.maxTime() >= lo) out.push(s);
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  chunkCount(): number {
    let n = 0;
    for (const s of this.byRef.values()) n += s.chunkCount();
    return n;
  }

  /** Head statistics as Prometheus's /api/v1/status/tsdb reports them. */
  status(limit: number): TsdbStatus {
    const byMetric = new Map<string, number>();
    for (const s of this.byRef.values()) {
      const name = getLabel(s.labels, METRIC_NAME);
      if (name !== undefined) byMetric.set(name, (byMetric.get(name) ?? 0) + 1);
    }
    const valueCounts: { name: string; value: number }[] = [];
    const memory: { name: string; value: number }[] = [];
    const pairs: { name: string; value: number }[] = [];
    let numLabelPairs = 0;
    for (const [name, values] of this.postings.entries()) {
      valueCounts.push({ name, value: values.size });
      let bytes = 0;
      for (const [value, entry] of values) {
        numLabelPairs++;
        bytes += Buffer.byteLength(value) * entry.refs.length;
        pairs.push({ name: `${name}=${value}`, value: entry.refs.length });
      }
      memory.push({ name, value: bytes });
    }
    const top = (xs: { name: string; value: number }[]): { name: string; value: number }[] =>
      xs.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1)).slice(0, limit);
    const empty = this.byRef.size === 0;
    return {
      numSeries: this.byRef.size,
      numLabelPairs,
      chunkCount: this.chunkCount(),
      minTime: empty || !Number.isFinite(this.minT) ? 0 : this.minT,
      maxTime: empty || !Number.isFinite(this.maxT) ? 0 : this.maxT,
      seriesCountByMetricName: top([...byMetric].map(([name, value]) => ({ name, value }))),
      labelValueCountByLabelName: top(valueCounts),
      memoryInBytesByLabelName: top(memory),
      seriesCountByLabelValuePair: top(pairs),
    };
  }
}
