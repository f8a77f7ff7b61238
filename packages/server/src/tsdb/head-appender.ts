/**
 * The head's batch appender: validates samples as they are added (Prometheus's rules), then on
 * commit applies them to the head, logs them to the WAL and resolves after the shared fsync.
 */
import { formatLabels, type Labels } from '../model/labels.js';
import type { MetricMetadata } from '../model/samples.js';
import { AppendError, type Appender, type AppendErrorCode, type SeriesRef } from '../storage/interfaces.js';
import { ByteWriter } from './byte-buffer.js';
import { ApplyResult, REJECT_CODES, type Head } from './head.js';
import { labelsHash } from './labels-hash.js';
import type { MemSeries } from './mem-series.js';
import type { TsdbMetrics } from './tsdb-metrics.js';
import type { Wal } from './wal.js';
import { RecordType, encodeMetadata, encodeSamples, encodeSeries } from './wal-records.js';
import { HI_WORD, LO_WORD } from './xor-chunk.js';

/** Limits on what one batch may create. */
export interface AppendLimits {
  readonly maxLabelNameLength: number;
  readonly maxLabelValueLength: number;
  readonly maxLabelsPerSeries: number;
  readonly maxSeriesPerRequest: number;
}

/** What an appender needs from the TSDB that created it. */
export interface AppenderContext {
  readonly head: Head;
  readonly limits: AppendLimits;
  readonly metrics: TsdbMetrics;
  /** Null in in-memory mode. */
  readonly wal: Wal | null;
  readonly scratch: BatchScratchPool;
}

/** A batch's pending samples: series, times and value bits (a Uint32Array view of `vs`). */
class BatchScratch {
  series: MemSeries[] = [];
  ts = new Float64Array(256);
  vs = new Float64Array(256);
  bits = new Uint32Array(this.vs.buffer);
}

/** Largest scratch kept for reuse (samples): a rare huge batch does not pin its arrays. */
const MAX_POOLED_SAMPLES = 1 << 18;

/**
 * Scratch arrays reused by successive appenders, so a batch of thousands of samples allocates
 * nothing per batch (growing fresh arrays per request was a steady source of old-generation
 * garbage while commits waited for fsync). Pooled series arrays may still reference series of
 * earlier batches until overwritten.
 */
export class BatchScratchPool {
  private readonly free: BatchScratch[] = [];

  acquire(): BatchScratch {
    return this.free.pop() ?? new BatchScratch();
  }

  release(s: BatchScratch): void {
    if (this.free.length < 8 && s.ts.length <= MAX_POOLED_SAMPLES) this.free.push(s);
  }
}

const scratchF = new Float64Array(1);
const scratchU = new Uint32Array(scratchF.buffer);
let nextAppenderId = 1;

/** One batch of appends to the head; not for concurrent use (see storage/interfaces Appender). */
export class HeadAppender implements Appender {
  private readonly id = nextAppenderId++;
  private readonly ctx: AppenderContext;
  /** Taken from the pool at the first append, returned once the batch is applied or dropped. */
  private scratch: BatchScratch | null = null;
  private n = 0;
  private meta: [string, MetricMetadata][] = [];
  private seriesInBatch = 0;
  private finished = false;

  constructor(ctx: AppenderContext) {
    this.ctx = ctx;
  }

  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    if (this.finished) throw new Error('appender already committed or rolled back');
    const head = this.ctx.head;
    let s = ref > 0 ? head.getByRef(ref) : undefined;
    if (s === undefined || s.deleted) {
      const hash = labelsHash(labels);
      s = head.getByLabels(labels, hash);
      if (s === undefined) {
        this.validateLabels(labels);
        s = head.create(labels, hash);
        this.ctx.metrics.seriesCreated.inc();
      }
    }
    if (s.appenderMark !== this.id) {
      if (this.seriesInBatch >= this.ctx.limits.maxSeriesPerRequest) {
        this.reject('too_many_series', `too many series in one request (limit ${this.ctx.limits.maxSeriesPerRequest})`);
      }
      s.appenderMark = this.id;
      this.seriesInBatch++;
      s.pendingT = s.lastT;
      s.pendingHi = s.lastHi;
      s.pendingLo = s.lastLo;
    }
    if (!Number.isSafeInteger(t)) this.rejectSample('out_of_bounds', 'invalid timestamp: not an integer number of milliseconds', s, t);
    scratchF[0] = v;
    const hi = scratchU[HI_WORD]!;
    const lo = scratchU[LO_WORD]!;
    if (t < head.appendableMinValidTime()) {
      if (t >= head.minValidTime && head.outOfOrderWindowMs > 0) this.rejectSample('too_old', 'too old sample: outside the out-of-order window', s, t);
      this.rejectSample('out_of_bounds', 'out of bounds: older than the head accepts', s, t);
    }
    if (t > s.pendingT) {
      s.pendingT = t;
      s.pendingHi = hi;
      s.pendingLo = lo;
    } else if (t === s.pendingT) {
      if (hi === s.pendingHi && lo === s.pendingLo) return s.ref;
      this.rejectSample('duplicate_sample_for_timestamp', 'duplicate sample for timestamp', s, t);
    } else if (head.outOfOrderWindowMs <= 0) {
      this.rejectSample('out_of_order', 'out of order sample', s, t);
    } else if (t < head.maxT - head.outOfOrderWindowMs) {
      this.rejectSample('too_old', 'too old sample: outside the out-of-order window', s, t);
    }
    // Inlined push: a helper call would box the timestamp (a heap number) for every sample.
    const b = this.scratch ?? (this.scratch = this.ctx.scratch.acquire());
    const n = this.n;
    if (n === b.ts.length) {
      const ts = new Float64Array(n * 2);
      const vs = new Float64Array(n * 2);
      ts.set(b.ts);
      vs.set(b.vs);
      b.ts = ts;
      b.vs = vs;
      b.bits = new Uint32Array(vs.buffer);
    }
    b.series[n] = s;
    b.ts[n] = t;
    b.bits[2 * n + HI_WORD] = hi;
    b.bits[2 * n + LO_WORD] = lo;
    this.n = n + 1;
    return s.ref;
  }

  private validateLabels(labels: Labels): void {
    const limits = this.ctx.limits;
    if (labels.length === 0) this.reject('invalid_labels', 'a series needs at least one label');
    if (labels.length > limits.maxLabelsPerSeries) {
      this.reject('invalid_labels', `series has ${labels.length} labels, more than the limit of ${limits.maxLabelsPerSeries}`);
    }
    let prev = '';
    for (let i = 0; i < labels.length; i++) {
      const { name, value } = labels[i]!;
      if (name === '') this.reject('invalid_labels', 'empty label name');
      if (i > 0 && name <= prev) this.reject('invalid_labels', `labels not sorted or duplicated at ${JSON.stringify(name)}`);
      if (value === '') this.reject('invalid_labels', `empty value for label ${JSON.stringify(name)}`);
      if (name.length > limits.maxLabelNameLength) {
        this.reject('label_name_too_long', `label name ${JSON.stringify(name.slice(0, 64))}... longer than ${limits.maxLabelNameLength}`);
      }
      if (value.length > limits.maxLabelValueLength) {
        this.reject('label_value_too_long', `value of label ${JSON.stringify(name)} longer than ${limits.maxLabelValueLength}`);
      }
      prev = name;
    }
  }

  private reject(code: AppendErrorCode, message: string): never {
    this.ctx.metrics.samplesRejected.inc({ reason: code });
    throw new AppendError(code, message);
  }

  private rejectSample(code: AppendErrorCode, message: string, s: MemSeries, t: number): never {
    this.reject(code, `${message} (series ${formatLabels(s.labels)}, timestamp ${t})`);
  }

  updateMetadata(metricName: string, metadata: MetricMetadata): void {
    this.meta.push([metricName, metadata]);
  }

  async commit(): Promise<void> {
    if (this.finished) throw new Error('appender already committed or rolled back');
    this.finished = true;
    const { head, wal, metrics } = this.ctx;
    const b = this.scratch;
    const n = this.n;
    this.scratch = null;
    const newSeries: MemSeries[] = [];
    const minValid = head.appendableMinValidTime();
    let kept = 0;
    if (b !== null) {
      const series = b.series;
      const ts = b.ts;
      const bits = b.bits;
      for (let i = 0; i < n; i++) {
        let s = series[i]!;
        // The series may have left the head (truncation) between append and commit.
        if (s.deleted) s = head.getOrCreate(s.labels);
        const r = head.apply(s, ts, b.vs, bits, i, minValid);
        if (r === ApplyResult.Appended || r === ApplyResult.AppendedOutOfOrder) {
          if (!s.walLogged) {
            s.walLogged = true;
            newSeries.push(s);
          }
          series[kept] = s;
          ts[kept] = ts[i]!;
          bits[2 * kept] = bits[2 * i]!;
          bits[2 * kept + 1] = bits[2 * i + 1]!;
          kept++;
        } else if (r !== ApplyResult.Duplicate) {
          metrics.samplesRejected.inc({ reason: REJECT_CODES[r]! });
        }
      }
    }
    for (const [name, m] of this.meta) head.metadata.set(name, m);
    metrics.samplesAppended.inc(kept);
    const meta = this.meta;
    this.meta = [];
    if (wal !== null && (kept > 0 || meta.length > 0)) {
      if (newSeries.length > 0) {
        const w = new ByteWriter(newSeries.length * 64);
        encodeSeries(w, newSeries);
        wal.log(RecordType.Series, w.view());
      }
      if (kept > 0) {
        const w = new ByteWriter(kept * 16 + 16);
        encodeSamples(w, b!.series, b!.ts, b!.bits, kept);
        wal.log(RecordType.Samples, w.view());
      }
      if (meta.length > 0) {
        const w = new ByteWriter(256);
        encodeMetadata(w, meta);
        wal.log(RecordType.Metadata, w.view());
      }
    }
    // Everything the batch needed from its scratch is applied or encoded by now.
    if (b !== null) this.ctx.scratch.release(b);
    if (wal === null || (kept === 0 && meta.length === 0)) return;
    await wal.sync();
  }

  rollback(): void {
    this.finished = true;
    if (this.scratch !== null) this.ctx.scratch.release(this.scratch);
    this.scratch = null;
    this.meta = [];
    this.n = 0;
  }
}
