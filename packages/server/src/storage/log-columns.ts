/**
 * A batch of log lines in columns: typed arrays for numbers, texts packed as UTF-8 bytes, and the
 * batch's distinct stream label sets and resources referred to by index. It is the write format
 * of the log store, so a decoding thread can do the per-line work (ids to integers and hashes,
 * attributes to JSON text, texts to UTF-8) and hand the batch over as transferable buffers
 * instead of objects.
 * W3C trace and span ids (lowercase hex, 32 and 16 digits, not all zero) go into 64-bit integer
 * columns, other id forms stay text; request and trace ids also get their 53-bit hash (0 when
 * absent), as the embedded store's lookup columns hold them.
 */
import type { Labels } from '../model/labels.js';
import { levelOfSeverity, UNKNOWN_SERVICE, type LogRecord } from '../model/log-record.js';
import { hex64, traceIdOf, writeHexId, writeHexIdBytes } from './signal-store/hex-id-columns.js';
import { packedTextAt, packedTextBuffers, PackedTextsWriter, type PackedTexts } from './signal-store/packed-texts.js';
import { hash53, hash53Bytes } from './signal-store/string-hash.js';

/**
 * Where addBytes finds a line's texts in its source bytes: [start, end) pairs, start -1 for an
 * absent text: the body, the trace id, the span id and the request id, in that order.
 */
export const BYTE_RANGE_BODY = 0;
export const BYTE_RANGE_TRACE_ID = 2;
export const BYTE_RANGE_SPAN_ID = 4;
export const BYTE_RANGE_REQUEST_ID = 6;
export const BYTE_RANGE_SLOTS = 8;

/** Log lines in columns; row i of every column is line i. */
export interface LogColumns {
  readonly rowCount: number;
  readonly timeNs: BigInt64Array;
  readonly observedNs: BigInt64Array;
  /** OpenTelemetry severity number, 0 (unknown) outside 1–24. */
  readonly severity: Uint8Array;
  /** The canonical level only when `severity` does not imply it (levelOfSeverity), else null. */
  readonly level: PackedTexts;
  readonly severityText: PackedTexts;
  readonly body: PackedTexts;
  /** Trace id text when it is not a W3C id (those are in traceHi/traceLo); null when absent. */
  readonly traceText: PackedTexts;
  /** Span id text when it is not a W3C id (those are in spanBits); null when absent. */
  readonly spanText: PackedTexts;
  readonly requestId: PackedTexts;
  /** hash53 of the trace id and request id, 0 when absent. */
  readonly traceHash: BigInt64Array;
  readonly requestHash: BigInt64Array;
  /** A W3C trace id's high and low 64 bits, and a W3C span id's 64 bits; 0 when absent or text. */
  readonly traceHi: BigInt64Array;
  readonly traceLo: BigInt64Array;
  readonly spanBits: BigInt64Array;
  /** The attributes as JSON text, null when there are none. */
  readonly attributes: PackedTexts;
  /** Index into `streams` and into `resources` per line. */
  readonly streamIndex: Int32Array;
  readonly resourceIndex: Int32Array;
  readonly streams: Labels[];
  readonly resources: Readonly<Record<string, unknown>>[];
}

/** The typed-array buffers of a batch, to transfer it to another thread without copying. */
export function logColumnBuffers(c: LogColumns): ArrayBuffer[] {
  const arrays = [c.timeNs, c.observedNs, c.severity, c.traceHash, c.requestHash, c.traceHi, c.traceLo, c.spanBits, c.streamIndex, c.resourceIndex];
  const texts = [c.level, c.severityText, c.body, c.traceText, c.spanText, c.requestId, c.attributes];
  return [...new Set([...arrays.map((a) => a.buffer as ArrayBuffer), ...texts.flatMap(packedTextBuffers)])];
}

/**
 * Fills a LogColumns of at most `capacity` lines, row by row. Stream label sets and resources are
 * numbered by object identity: producers that share one object per (service, environment, ...)
 * are listed once per batch.
 */
export class LogColumnsBuilder {
  private readonly timeNs: BigInt64Array;
  private readonly observedNs: BigInt64Array;
  private readonly severity: Uint8Array;
  private readonly traceHash: BigInt64Array;
  private readonly requestHash: BigInt64Array;
  private readonly traceHi: BigInt64Array;
  private readonly traceLo: BigInt64Array;
  private readonly spanBits: BigInt64Array;
  private readonly streamIndex: Int32Array;
  private readonly resourceIndex: Int32Array;
  private readonly level: PackedTextsWriter;
  private readonly severityText: PackedTextsWriter;
  private readonly body: PackedTextsWriter;
  private readonly traceText: PackedTextsWriter;
  private readonly spanText: PackedTextsWriter;
  private readonly requestId: PackedTextsWriter;
  private readonly attributes: PackedTextsWriter;
  private readonly traceHiHalves: Uint32Array;
  private readonly traceLoHalves: Uint32Array;
  private readonly spanBitsHalves: Uint32Array;
  private readonly traceHashHalves: Uint32Array;
  private readonly requestHashHalves: Uint32Array;
  private readonly streams: Labels[] = [];
  private readonly resources: Readonly<Record<string, unknown>>[] = [];
  private readonly streamIndexOf = new Map<Labels, number>();
  private readonly resourceIndexOf = new Map<object, number>();
  private rows = 0;

  /** `textBytes`: a guess of the UTF-8 bytes of all bodies and attributes (the buffers grow past it). */
  constructor(
    readonly capacity: number,
    textBytes = 64 * capacity,
  ) {
    const n = capacity;
    this.timeNs = new BigInt64Array(n);
    this.observedNs = new BigInt64Array(n);
    this.severity = new Uint8Array(n);
    this.traceHash = new BigInt64Array(n);
    this.requestHash = new BigInt64Array(n);
    this.traceHi = new BigInt64Array(n);
    this.traceLo = new BigInt64Array(n);
    this.spanBits = new BigInt64Array(n);
    this.streamIndex = new Int32Array(n);
    this.resourceIndex = new Int32Array(n);
    this.level = new PackedTextsWriter(n, 8 * n);
    this.severityText = new PackedTextsWriter(n, 8 * n);
    this.body = new PackedTextsWriter(n, textBytes >>> 2);
    this.traceText = new PackedTextsWriter(n, 8 * n);
    this.spanText = new PackedTextsWriter(n, 8 * n);
    this.requestId = new PackedTextsWriter(n, 32 * n);
    this.attributes = new PackedTextsWriter(n, textBytes);
    this.traceHiHalves = new Uint32Array(this.traceHi.buffer);
    this.traceLoHalves = new Uint32Array(this.traceLo.buffer);
    this.spanBitsHalves = new Uint32Array(this.spanBits.buffer);
    this.traceHashHalves = new Uint32Array(this.traceHash.buffer);
    this.requestHashHalves = new Uint32Array(this.requestHash.buffer);
  }

  /** Lines added so far. */
  get rowCount(): number {
    return this.rows;
  }

  /**
   * Adds one line: `severity` is the OpenTelemetry number (0 unknown), `level` the canonical level,
   * ids '' when absent, `attributesJson` null when there are none.
   */
  add(
    timeNs: bigint,
    observedNs: bigint,
    stream: Labels,
    resource: Readonly<Record<string, unknown>>,
    severity: number,
    level: string,
    severityText: string,
    body: string,
    traceId: string,
    spanId: string,
    requestId: string,
    attributesJson: string | null,
  ): void {
    const i = this.startRow(timeNs, observedNs, stream, resource, severity, level, severityText);
    this.body.push(body);
    this.traceText.push(writeHexId(traceId, 4, i, this.traceHiHalves, this.traceLoHalves) ? null : traceId || null);
    this.spanText.push(writeHexId(spanId, 2, i, this.spanBitsHalves, null) ? null : spanId || null);
    this.requestId.push(requestId || null);
    setUint53(this.traceHashHalves, i, traceId ? hash53(traceId) : 0);
    setUint53(this.requestHashHalves, i, requestId ? hash53(requestId) : 0);
    this.attributes.push(attributesJson);
  }

  /** Starts a row with the columns add() and addBytes() fill alike; returns its index. */
  private startRow(
    timeNs: bigint,
    observedNs: bigint,
    stream: Labels,
    resource: Readonly<Record<string, unknown>>,
    severity: number,
    level: string,
    severityText: string,
  ): number {
    const i = this.rows++;
    this.timeNs[i] = timeNs;
    this.observedNs[i] = observedNs;
    this.streamIndex[i] = indexOf(this.streamIndexOf, this.streams, stream);
    this.resourceIndex[i] = indexOf(this.resourceIndexOf, this.resources, resource);
    const sev = severity >= 0 && severity <= 24 ? severity : 0;
    this.severity[i] = sev;
    this.level.push(level === levelOfSeverity(sev) ? null : level);
    this.severityText.push(severityText || null);
    return i;
  }

  /**
   * Adds one line whose texts are UTF-8 in `src`, at the byte ranges `ranges` gives (see
   * BYTE_RANGE_BODY; ids ASCII, as add() takes them: lowercase when hex), and whose attributes are the
   * object made of `runCount` runs of members' text (PackedTextsWriter.pushObject), or none when
   * runCount is 0. Other arguments as add().
   */
  addBytes(
    src: Uint8Array,
    timeNs: bigint,
    observedNs: bigint,
    stream: Labels,
    resource: Readonly<Record<string, unknown>>,
    severity: number,
    level: string,
    severityText: string,
    ranges: Int32Array,
    runs: Int32Array,
    runCount: number,
  ): void {
    const i = this.startRow(timeNs, observedNs, stream, resource, severity, level, severityText);
    this.body.pushBytes(src, ranges[BYTE_RANGE_BODY]!, ranges[BYTE_RANGE_BODY + 1]!);
    const traceStart = ranges[BYTE_RANGE_TRACE_ID]!;
    const traceEnd = ranges[BYTE_RANGE_TRACE_ID + 1]!;
    const spanStart = ranges[BYTE_RANGE_SPAN_ID]!;
    const spanEnd = ranges[BYTE_RANGE_SPAN_ID + 1]!;
    const requestStart = ranges[BYTE_RANGE_REQUEST_ID]!;
    const requestEnd = ranges[BYTE_RANGE_REQUEST_ID + 1]!;
    if (traceStart < 0 || writeHexIdBytes(src, traceStart, traceEnd, 4, i, this.traceHiHalves, this.traceLoHalves)) this.traceText.push(null);
    else this.traceText.pushBytes(src, traceStart, traceEnd);
    if (spanStart < 0 || writeHexIdBytes(src, spanStart, spanEnd, 2, i, this.spanBitsHalves, null)) this.spanText.push(null);
    else this.spanText.pushBytes(src, spanStart, spanEnd);
    if (requestStart < 0) this.requestId.push(null);
    else this.requestId.pushBytes(src, requestStart, requestEnd);
    setUint53(this.traceHashHalves, i, traceStart < 0 ? 0 : hash53Bytes(src, traceStart, traceEnd));
    setUint53(this.requestHashHalves, i, requestStart < 0 ? 0 : hash53Bytes(src, requestStart, requestEnd));
    if (runCount === 0) this.attributes.push(null);
    else this.attributes.pushObject(src, runs, runCount);
  }

  /** Adds a record as it is (attributes serialised unless empty). */
  addRecord(r: LogRecord): void {
    const attributes = hasKeys(r.attributes) ? JSON.stringify(r.attributes) : null;
    this.add(r.timeNs, r.observedNs, r.stream, r.resource, r.severity, r.level, r.severityText, r.body, r.traceId, r.spanId, r.requestId, attributes);
  }

  /** The batch of the lines added; the builder must not be used afterwards. */
  finish(): LogColumns {
    const n = this.rows;
    return {
      rowCount: n,
      timeNs: this.timeNs.subarray(0, n),
      observedNs: this.observedNs.subarray(0, n),
      severity: this.severity.subarray(0, n),
      level: this.level.finish(),
      severityText: this.severityText.finish(),
      body: this.body.finish(),
      traceText: this.traceText.finish(),
      spanText: this.spanText.finish(),
      requestId: this.requestId.finish(),
      traceHash: this.traceHash.subarray(0, n),
      requestHash: this.requestHash.subarray(0, n),
      traceHi: this.traceHi.subarray(0, n),
      traceLo: this.traceLo.subarray(0, n),
      spanBits: this.spanBits.subarray(0, n),
      attributes: this.attributes.finish(),
      streamIndex: this.streamIndex.subarray(0, n),
      resourceIndex: this.resourceIndex.subarray(0, n),
      streams: this.streams,
      resources: this.resources,
    };
  }
}

function indexOf<T extends object>(indexOf: Map<T, number>, list: T[], value: T): number {
  let index = indexOf.get(value);
  if (index === undefined) {
    index = list.length;
    list.push(value);
    indexOf.set(value, index);
  }
  return index;
}

/** The records of a batch, as the store reads them back (service from the stream's service_name). */
export function recordsOfColumns(c: LogColumns): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < c.rowCount; i++) {
    const stream = c.streams[c.streamIndex[i]!]!;
    const attributes = packedTextAt(c.attributes, i);
    out.push({
      timeNs: c.timeNs[i]!,
      observedNs: c.observedNs[i]!,
      service: stream.find((l) => l.name === 'service_name')?.value ?? UNKNOWN_SERVICE,
      level: packedTextAt(c.level, i) ?? levelOfSeverity(c.severity[i]!),
      severityText: packedTextAt(c.severityText, i) ?? '',
      severity: c.severity[i]!,
      body: packedTextAt(c.body, i) ?? '',
      traceId: traceIdOf(packedTextAt(c.traceText, i), c.traceHi[i], c.traceLo[i]),
      spanId: packedTextAt(c.spanText, i) ?? hex64(c.spanBits[i]),
      requestId: packedTextAt(c.requestId, i) ?? '',
      stream,
      attributes: attributes === null ? {} : (JSON.parse(attributes) as Record<string, unknown>),
      resource: c.resources[c.resourceIndex[i]!]!,
    });
  }
  return out;
}

/** Stores a non-negative integer below 2^53 as row `i` of a BigInt64Array viewed as 32-bit halves (little-endian). */
export function setUint53(halves: Uint32Array, i: number, value: number): void {
  halves[2 * i] = value >>> 0;
  halves[2 * i + 1] = Math.floor(value / 4294967296);
}

function hasKeys(o: Readonly<Record<string, unknown>>): boolean {
  for (const _ in o) return true;
  return false;
}
