/**
 * Decodes a remote write 1.0 `WriteRequest` (prompb) straight into an Appender: labels are built
 * once per series, samples are read field by field and appended without intermediate objects.
 *
 * message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 * message TimeSeries  { repeated Label labels = 1; repeated Sample samples = 2;
 *                       repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 * message Label       { string name = 1; string value = 2; }
 * message Sample      { double value = 1; int64 timestamp = 2; }
 * message MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 */
import { type Label, type Labels, METRIC_NAME } from '../../../model/labels.js';
import type { MetricType } from '../../../model/samples.js';
import { AppendError, type Appender, type SeriesRef } from '../../../storage/interfaces.js';
import { ProtoReader, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, expectWireType } from '../../protobuf/proto-reader.js';
import type { StringInterner } from '../../protobuf/string-interner.js';
import type { Rejections } from '../../rejections.js';
import { hashLabelRanges, type SeriesCache } from './series-cache.js';

const TIMESERIES = (1 << 3) | WIRE_LENGTH_DELIMITED;
const METADATA = (3 << 3) | WIRE_LENGTH_DELIMITED;
const TS_LABEL = (1 << 3) | WIRE_LENGTH_DELIMITED;
const TS_SAMPLE = (2 << 3) | WIRE_LENGTH_DELIMITED;
const TS_EXEMPLAR = (3 << 3) | WIRE_LENGTH_DELIMITED;
const TS_HISTOGRAM = (4 << 3) | WIRE_LENGTH_DELIMITED;

/** prompb MetricMetadata.MetricType by enum number. */
const METRIC_TYPES: readonly MetricType[] = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

export interface WriteRequestLimits {
  /** Series per request above which the whole request is refused. */
  readonly maxSeriesPerRequest: number;
  /** Latest acceptable sample time, ms (Prometheus's receiver allows 10 minutes ahead of its clock); later samples are rejected. */
  readonly maxTime?: number;
  /** Cache of label strings shared across requests (see StringInterner). */
  readonly interner?: StringInterner;
  /** Cache of recently seen series shared across requests (see SeriesCache). */
  readonly seriesCache?: SeriesCache;
}

/** What one request delivered to the appender (valid until the next decode). */
export interface WriteRequestResult {
  series: number;
  samplesAppended: number;
  exemplarsDropped: number;
  metadata: number;
}

/**
 * Appends every valid sample of `body` (decompressed protobuf) to `app`. Invalid series and
 * rejected samples are tallied in `rejections` and the rest is kept. Structural errors throw a
 * DecodeError, after which the caller must roll the appender back.
 */
export function decodeWriteRequest(body: Uint8Array, app: Appender, limits: WriteRequestLimits, rejections: Rejections): WriteRequestResult {
  const r = new ProtoReader(body, 'remote write', limits.interner ?? null);
  const result: WriteRequestResult = { series: 0, samplesAppended: 0, exemplarsDropped: 0, metadata: 0 };
  const state: DecodeState = { ranges: new Int32Array(64), cache: limits.seriesCache ?? null, maxTime: limits.maxTime ?? Infinity };
  const end = r.length;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === TIMESERIES) {
      if (++result.series > limits.maxSeriesPerRequest) {
        throw r.error(`more than ${limits.maxSeriesPerRequest} series in one request`);
      }
      decodeTimeSeries(r, r.messageEnd(end), app, rejections, result, state);
    } else if (key === METADATA) {
      decodeMetadata(r, r.messageEnd(end), app);
      result.metadata++;
    } else {
      r.skip(key & 7);
    }
  }
  return result;
}

/** Per-request decoding state: scratch label ranges (reused across series) and the shared series cache. */
interface DecodeState {
  ranges: Int32Array;
  readonly cache: SeriesCache | null;
  readonly maxTime: number;
}

function decodeTimeSeries(r: ProtoReader, end: number, app: Appender, rejections: Rejections, result: WriteRequestResult, state: DecodeState): void {
  const start = r.pos;
  let count = 0;
  let samples = 0;
  let histograms = 0;
  // Pass 1: label byte ranges (fields may come in any order), counting the rest.
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === TS_LABEL) {
      if (4 * count + 4 > state.ranges.length) {
        const grown = new Int32Array(state.ranges.length * 2);
        grown.set(state.ranges);
        state.ranges = grown;
      }
      readLabelRanges(r, r.messageEnd(end), state.ranges, 4 * count);
      count++;
    } else {
      if (key === TS_SAMPLE) samples++;
      else if (key === TS_EXEMPLAR) result.exemplarsDropped++;
      else if (key === TS_HISTOGRAM) histograms++;
      if ((key & 7) === WIRE_LENGTH_DELIMITED) r.pos = r.messageEnd(end);
      else r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'time series');

  const { ranges, cache } = state;
  let labels: Labels;
  let entry = -1;
  let hash = 0;
  if (cache !== null) {
    hash = hashLabelRanges(r.buf, ranges, count);
    entry = cache.find(r.buf, ranges, count, hash);
  }
  if (entry >= 0) {
    labels = cache!.labelsAt(entry);
  } else {
    const decoded: Label[] = [];
    let canonical = true;
    for (let i = 0; i < count; i++) {
      const name = r.decodeUtf8(ranges[4 * i]!, ranges[4 * i + 1]!);
      const value = r.decodeUtf8(ranges[4 * i + 2]!, ranges[4 * i + 3]!);
      // Cached entries are compared byte for byte with their strings, which needs ASCII; also sorted and without empty values.
      if (name.length !== ranges[4 * i + 1]! - ranges[4 * i]! || value.length !== ranges[4 * i + 3]! - ranges[4 * i + 2]! || value === '') canonical = false;
      if (i > 0 && decoded[i - 1]!.name >= name) canonical = false;
      decoded.push({ name, value });
    }
    const problem = normaliseLabels(decoded);
    if (problem !== null) {
      rejections.add('invalid_labels', samples + histograms, `${problem} in series ${describe(decoded)}`);
      return;
    }
    if (cache !== null && canonical) {
      // Cached sets share one Label object per distinct pair (a series' labels live as long as it is active).
      for (let i = 0; i < decoded.length; i++) decoded[i] = cache.pair(decoded[i]!.name, decoded[i]!.value);
      entry = cache.store(hash, decoded);
    }
    labels = decoded;
  }
  if (histograms > 0) {
    rejections.add('native_histograms_unsupported', histograms, `native histograms are not supported yet (series ${describe(labels)})`);
  }
  if (samples === 0) return;

  // Pass 2: samples, appended as they are read.
  r.pos = start;
  let ref: SeriesRef = entry >= 0 ? cache!.refAt(entry) : 0;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key !== TS_SAMPLE) {
      r.skip(key & 7);
      continue;
    }
    const sampleEnd = r.messageEnd(end);
    let value = 0;
    let t = 0;
    while (r.pos < sampleEnd) {
      const k = r.tag(sampleEnd);
      if (k >>> 3 === 1) {
        expectWireType(r, k, WIRE_FIXED64, 'Sample.value');
        value = r.double();
      } else if (k >>> 3 === 2) {
        expectWireType(r, k, WIRE_VARINT, 'Sample.timestamp');
        const at = r.pos;
        t = r.int64();
        if (!Number.isSafeInteger(t)) throw r.error(`sample timestamp ${t} is out of range`, at);
      } else {
        r.skip(k & 7);
      }
    }
    r.expectEnd(sampleEnd, 'sample');
    if (t > state.maxTime) {
      rejections.add('out_of_bounds', 1, `sample timestamp ${t} is too far in the future for series ${describe(labels)}`);
      continue;
    }
    try {
      ref = app.append(ref, labels, t, value);
      result.samplesAppended++;
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      rejections.add(err.code, 1, `${err.message} for series ${describe(labels)} at timestamp ${t}`);
    }
  }
  if (entry >= 0 && ref !== 0) cache!.setRef(entry, ref);
}

/** Records the byte ranges of a Label's name and value at ranges[at..at+3] (empty when absent). */
function readLabelRanges(r: ProtoReader, end: number, ranges: Int32Array, at: number): void {
  ranges[at] = ranges[at + 1] = ranges[at + 2] = ranges[at + 3] = end;
  while (r.pos < end) {
    const key = r.tag(end);
    if (key === ((1 << 3) | WIRE_LENGTH_DELIMITED) || key === ((2 << 3) | WIRE_LENGTH_DELIMITED)) {
      const stringEnd = r.messageEnd(end);
      const i = key === ((1 << 3) | WIRE_LENGTH_DELIMITED) ? at : at + 2;
      ranges[i] = r.pos;
      ranges[i + 1] = stringEnd;
      r.pos = stringEnd;
    } else {
      r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'label');
}

/**
 * Sorts the labels in place when the sender did not (Prometheus always does), drops empty values
 * (an empty value means "absent") and returns a problem description, or null when valid.
 */
function normaliseLabels(labels: Label[]): string | null {
  let sorted = true;
  let empties = false;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l.name === '') return 'empty label name';
    if (l.value === '') empties = true;
    if (i > 0 && labels[i - 1]!.name >= l.name) sorted = false;
  }
  if (!sorted) labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < labels.length; i++) {
    if (labels[i - 1]!.name === labels[i]!.name) return `duplicate label name "${labels[i]!.name}"`;
  }
  if (empties) {
    let w = 0;
    for (const l of labels) if (l.value !== '') labels[w++] = l;
    labels.length = w;
  }
  const name = labels.find((l) => l.name === METRIC_NAME);
  if (name === undefined) return 'missing metric name (__name__ label)';
  return null;
}

function describe(labels: Labels): string {
  const text = labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ');
  return `{${text.length > 300 ? `${text.slice(0, 300)}…` : text}}`;
}

function decodeMetadata(r: ProtoReader, end: number, app: Appender): void {
  let type: MetricType = 'unknown';
  let name = '';
  let help = '';
  let unit = '';
  while (r.pos < end) {
    const key = r.tag(end);
    switch (key) {
      case (1 << 3) | WIRE_VARINT:
        type = METRIC_TYPES[r.uint32()] ?? 'unknown';
        break;
      case (2 << 3) | WIRE_LENGTH_DELIMITED:
        name = r.string(end);
        break;
      case (4 << 3) | WIRE_LENGTH_DELIMITED:
        help = r.string(end);
        break;
      case (5 << 3) | WIRE_LENGTH_DELIMITED:
        unit = r.string(end);
        break;
      default:
        r.skip(key & 7);
    }
  }
  r.expectEnd(end, 'metadata');
  if (name !== '') app.updateMetadata(name, { type, help, unit });
}
