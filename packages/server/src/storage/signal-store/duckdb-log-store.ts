/**
 * The LogStore on the embedded DuckDB signal store. Stream label sets are kept in memory (as
 * Loki's index is) and resolved to stream ids before a query, so DuckDB filters an integer
 * column; the time range prunes row groups by zone maps; exact request-id and trace-id lookups
 * scan a hash column; substring and regex filters run inside DuckDB (RE2, as in Loki).
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { Labels } from '../../model/labels.js';
import { levelOfSeverity, UNKNOWN_SERVICE, type LogRecord, type StoredLogRecord } from '../../model/log-record.js';
import { LogColumnsBuilder, recordsOfColumns, setUint53, type LogColumns } from '../log-columns.js';
import { compileMatcher, matchesAll, type CompiledMatcher, type Matcher } from '../../model/matchers.js';
import type {
  LogBucketCounts,
  LogBucketQuery,
  LogFilter,
  LogSelectQuery,
  LogStore,
  LogStoreStats,
  LogTailListener,
} from '../log-store.js';
import { hex64, int64Literal, isBinarySpanId, traceIdOf } from './hex-id-columns.js';
import { IdBlockFilters, LOG_ID_FILTERS_TABLE } from './id-block-filter.js';
import { InternedTable } from './interned-table.js';
import { LOG_RESOURCES_TABLE, LOG_SELECT_COLUMNS, LOG_STREAMS_TABLE, LOGS_TABLE } from './log-tables.js';
import type { ReadPool } from './read-pool.js';
import { hash53 } from './string-hash.js';
import type { TableSchema } from './table-schema.js';
import type { WriteQueue } from './write-queue.js';

export interface DuckDBLogStoreOptions {
  readonly writes: WriteQueue;
  readonly reads: ReadPool;
  readonly writeConn: DuckDBConnection;
  readonly migrate: (table: TableSchema) => Promise<void>;
}

interface Subscriber {
  readonly matchers: readonly CompiledMatcher[];
  readonly listener: LogTailListener;
}

/** Id lookups fetch up to this many matches unordered before falling back to an ordered top-N query. */
const ID_LOOKUP_CAP = 10_000;

/** Beyond this many candidate seq ranges an id lookup scans the whole hash column instead. */
const MAX_ID_RANGES = 64;

/** Lines around a context line are looked for within this distance in time (ns). */
const CONTEXT_WINDOW_NS = 86_400_000_000_000n;

export class DuckDBLogStore implements LogStore {
  private readonly streams = new InternedTable<Labels>(LOG_STREAMS_TABLE, parseLabels);
  private readonly resources = new InternedTable<Readonly<Record<string, unknown>>>(LOG_RESOURCES_TABLE, (t) => JSON.parse(t) as Record<string, unknown>);
  private readonly subscribers = new Set<Subscriber>();
  private readonly idFilters = new IdBlockFilters();
  private nextSeq = 1n;

  private constructor(private readonly opts: DuckDBLogStoreOptions) {}

  static async open(opts: DuckDBLogStoreOptions): Promise<DuckDBLogStore> {
    for (const t of [LOG_STREAMS_TABLE, LOG_RESOURCES_TABLE, LOGS_TABLE, LOG_ID_FILTERS_TABLE]) await opts.migrate(t);
    const store = new DuckDBLogStore(opts);
    await store.streams.load(opts.writeConn);
    await store.resources.load(opts.writeConn);
    const maxSeq = await opts.writeConn.runAndReadAll('SELECT max(seq) FROM logs');
    const max = maxSeq.getRows()[0]?.[0];
    if (typeof max === 'bigint') store.nextSeq = max + 1n;
    await store.idFilters.load(opts.writeConn, Number(store.nextSeq));
    return store;
  }

  /** The tables this store owns (for retention registration). */
  tables(): TableSchema[] {
    return [LOG_STREAMS_TABLE, LOG_RESOURCES_TABLE, LOGS_TABLE, LOG_ID_FILTERS_TABLE];
  }

  /** Retention hook: drops stream and resource rows no line refers to any more, and the id filters of deleted blocks. */
  retentionHook(): (conn: DuckDBConnection) => Promise<void> {
    return async (conn) => {
      await this.streams.dropOrphans(conn, 'logs', 'stream_id');
      await this.resources.dropOrphans(conn, 'logs', 'resource_id');
      await this.idFilters.dropBefore(conn, Number(this.nextSeq));
    };
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    const builder = new LogColumnsBuilder(records.length);
    for (const r of records) builder.addRecord(r);
    await this.write(builder.finish(), () => records);
  }

  async appendColumns(batch: LogColumns): Promise<void> {
    if (batch.rowCount === 0) return;
    await this.write(batch, () => recordsOfColumns(batch));
  }

  /**
   * Numbers the lines, resolves their streams and resources to ids and queues the batch; the
   * typed-array columns go to DuckDB as they are. `records` is only called for live tail.
   */
  private async write(c: LogColumns, records: () => readonly LogRecord[]): Promise<void> {
    const n = c.rowCount;
    const seqC = new BigInt64Array(n);
    const seqHalves = new Uint32Array(seqC.buffer);
    const streamBatch = this.streams.batch();
    const resourceBatch = this.resources.batch();
    const streamIds = c.streams.map((labels) => streamBatch.idOf(labelsJson(labels)));
    const resourceIds = c.resources.map((resource) => resourceBatch.idOf(JSON.stringify(resource)));
    const streamC = new Int32Array(n);
    const resC = new Int32Array(n);
    const firstSeq = this.nextSeq;
    this.nextSeq += BigInt(n);
    const firstSeqNumber = Number(firstSeq);
    const traceHashHalves = new Uint32Array(c.traceHash.buffer, c.traceHash.byteOffset, 2 * n);
    const requestHashHalves = new Uint32Array(c.requestHash.buffer, c.requestHash.byteOffset, 2 * n);
    for (let i = 0; i < n; i++) {
      const seq = firstSeqNumber + i;
      setUint53(seqHalves, i, seq);
      streamC[i] = streamIds[c.streamIndex[i]!]!;
      resC[i] = resourceIds[c.resourceIndex[i]!]!;
      const traceHash = traceHashHalves[2 * i + 1]! * 4294967296 + traceHashHalves[2 * i]!;
      const requestHash = requestHashHalves[2 * i + 1]! * 4294967296 + requestHashHalves[2 * i]!;
      if (traceHash !== 0) this.idFilters.add(seq, traceHash);
      if (requestHash !== 0) this.idFilters.add(seq, requestHash);
    }
    const columns = [
      seqC,
      c.timeNs,
      c.observedNs,
      streamC,
      resC,
      c.level,
      c.severityText,
      c.severity,
      c.body,
      c.traceText,
      c.spanText,
      c.requestId,
      c.traceHash,
      c.requestHash,
      c.attributes,
      c.traceHi,
      c.traceLo,
      c.spanBits,
    ];
    const filterBatch = this.idFilters.batch(Number(this.nextSeq));
    try {
      await this.opts.writes.submit({
        batches: [streamBatch.rows(), resourceBatch.rows(), filterBatch.rows(), { table: LOGS_TABLE, rowCount: n, columns }],
        afterCommit: () => {
          streamBatch.committed();
          resourceBatch.committed();
          filterBatch.committed();
          if (this.subscribers.size > 0) this.publish(records(), firstSeq, streamC);
        },
      });
    } finally {
      streamBatch.release();
      resourceBatch.release();
      filterBatch.release();
    }
  }

  private publish(records: readonly LogRecord[], firstSeq: bigint, streamIds: Int32Array): void {
    for (const sub of this.subscribers) {
      const matched: StoredLogRecord[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (matchesAll(sub.matchers, r.stream)) matched.push({ ...r, seq: firstSeq + BigInt(i), stream: this.streams.get(streamIds[i]!) ?? r.stream });
      }
      if (matched.length > 0) sub.listener(matched);
    }
  }

  /** Stream ids matching the matchers, or null when every stream matches (no stream condition needed). */
  private matchingStreamIds(matchers: readonly Matcher[]): number[] | null {
    if (matchers.length === 0) return null;
    const compiled = matchers.map(compileMatcher);
    const ids: number[] = [];
    for (const [id, labels] of this.streams.entries()) if (matchesAll(compiled, labels)) ids.push(id);
    return ids;
  }

  /**
   * SQL conditions for a filter (without time), or null when no stream can match. Numbers are
   * inlined as literals (they come from bigints and hashes, never from text): DuckDB binds
   * untyped parameters in arithmetic and comparisons as wider types and runs several times slower.
   */
  private conditions(f: Omit<LogFilter, 'startNs' | 'endNs'>, params: DuckDBValue[]): string[] | null {
    const where: string[] = [];
    const ids = this.matchingStreamIds(f.matchers);
    if (ids !== null) {
      if (ids.length === 0) return null;
      where.push(`stream_id IN (${ids.join(',')})`);
    }
    const p = (v: DuckDBValue): string => {
      params.push(v);
      return `$${params.length}`;
    };
    for (const lf of f.lineFilters ?? []) {
      if (lf.op === 'contains') where.push(`contains(body, ${p(lf.value)})`);
      else if (lf.op === 'not_contains') where.push(`NOT contains(body, ${p(lf.value)})`);
      else if (lf.op === 'regex') where.push(`regexp_matches(body, ${p(lf.value)})`);
      else where.push(`NOT regexp_matches(body, ${p(lf.value)})`);
    }
    const fields = f.fields;
    if (fields?.level !== undefined) where.push(this.levelCondition(fields.level, ids, p));
    // Ids are matched by hash alone here: a text comparison in the same WHERE may be evaluated
    // first, over every row's (compressed) id; select() re-checks the text of the few hits.
    if (fields?.requestId !== undefined) where.push(fields.requestId === '' ? 'request_id IS NULL' : `request_hash = ${hash53(fields.requestId)}`);
    if (fields?.traceId !== undefined) {
      where.push(fields.traceId === '' ? 'trace_id IS NULL AND coalesce(trace_hi, 0) = 0 AND coalesce(trace_lo, 0) = 0' : `trace_hash = ${hash53(fields.traceId)}`);
    }
    if (fields?.spanId !== undefined) {
      const span = fields.spanId;
      if (span === '') where.push('span_id IS NULL AND coalesce(span_bits, 0) = 0');
      else where.push(isBinarySpanId(span) ? `(span_bits = ${int64Literal(span)} OR span_id = ${p(span)})` : `span_id = ${p(span)}`);
    }
    return where;
  }

  /**
   * The lines a query reads: for an exact request-id or trace-id filter, only the seq blocks whose
   * id filter may hold the id (null when none may), as a UNION ALL of seq ranges so that each
   * branch prunes row groups by zone maps (an OR of ranges does not); else the whole table.
   */
  private lineSource(fields: LogFilter['fields']): string | null {
    const id = fields?.requestId || fields?.traceId;
    if (!id) return 'logs';
    const ranges = this.idFilters.seqRanges(hash53(id));
    if (ranges.length === 0) return null;
    if (ranges.length > MAX_ID_RANGES) return 'logs';
    return `(${ranges.map(([first, last]) => `SELECT * FROM logs WHERE seq BETWEEN ${first} AND ${last}`).join(' UNION ALL ')}) AS logs`;
  }

  /**
   * A line's level is its stream's `level` label when the stream has one (Loki pushes often carry
   * it), else the level column: the same rule LogQL uses for the line's `level` label.
   */
  private levelCondition(level: string, candidates: readonly number[] | null, p: (v: DuckDBValue) => string): string {
    const byLabel: number[] = [];
    const unlabelled: number[] = [];
    let labelled = false;
    for (const [id, labels] of this.streams.entries()) {
      const l = labels.find((x) => x.name === 'level');
      if (!l) continue;
      labelled = true;
      if (l.value === level) byLabel.push(id);
    }
    const column = levelColumnCondition(level, p);
    if (!labelled) return column;
    for (const id of candidates ?? [...this.streams.entries()].map(([i]) => i)) {
      if (!this.streams.get(id)?.some((x) => x.name === 'level')) unlabelled.push(id);
    }
    const parts: string[] = [];
    if (byLabel.length > 0) parts.push(`stream_id IN (${byLabel.join(',')})`);
    if (unlabelled.length > 0) parts.push(`(stream_id IN (${unlabelled.join(',')}) AND ${column})`);
    return parts.length === 0 ? 'FALSE' : `(${parts.join(' OR ')})`;
  }

  async select(q: LogSelectQuery): Promise<StoredLogRecord[]> {
    const params: DuckDBValue[] = [];
    const where = this.conditions(q, params);
    const source = this.lineSource(q.fields);
    if (where === null || source === null || q.limit <= 0) return [];
    where.unshift(`time_ns >= ${q.startNs}`, `time_ns < ${q.endNs}`);
    const desc = q.direction === 'backward';
    if (q.after) where.push(`(time_ns, seq) ${desc ? '<' : '>'} (${q.after.timeNs}, ${q.after.seq})`);
    const order = desc ? 'time_ns DESC, seq DESC' : 'time_ns ASC, seq ASC';
    // Two phases: find the page's sequence numbers reading only the filtered columns, then fetch
    // those rows whole; seq grows with arrival, so the seq range prunes row groups by zone maps.
    const requestId = q.fields?.requestId || null;
    const traceId = q.fields?.traceId || null;
    const limit = Math.floor(q.limit);
    const keys = await this.opts.reads.use(async (conn) => {
      const base = `SELECT seq, time_ns, request_id, trace_id, trace_hi, trace_lo FROM ${source} WHERE ${where.join(' AND ')}`;
      // An id lookup matches few lines: fetching them unordered and sorting here avoids DuckDB's
      // top-N plan, which re-scans the table to join the page back.
      let rows = requestId !== null || traceId !== null ? (await conn.runAndReadAll(`${base} LIMIT ${ID_LOOKUP_CAP + 1}`, params)).getRows() : null;
      if (rows === null || rows.length > ID_LOOKUP_CAP) rows = (await conn.runAndReadAll(`${base} ORDER BY ${order} LIMIT ${limit}`, params)).getRows();
      // Re-check the ids' text: the hash match alone admits (astronomically rare) collisions.
      const hits = rows.filter((r) => (requestId === null || r[2] === requestId) && (traceId === null || traceIdOf(r[3], r[4], r[5]) === traceId));
      hits.sort((a, b) => compareTimeSeq(a, b) * (desc ? -1 : 1));
      return hits.slice(0, limit).map((r) => r[0] as bigint);
    });
    if (keys.length === 0) return [];
    let min = keys[0] as bigint;
    let max = min;
    for (const k of keys as bigint[]) {
      if (k < min) min = k;
      if (k > max) max = k;
    }
    return this.readRecords(`SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE seq BETWEEN ${min} AND ${max} AND seq IN (${keys.join(',')}) ORDER BY ${order}`);
  }

  private readRecords(sql: string, params: DuckDBValue[] = []): Promise<StoredLogRecord[]> {
    return this.opts.reads.use(async (conn) => {
      const reader = await conn.runAndReadAll(sql, params);
      return reader.getRows().map((row) => this.toRecord(row));
    });
  }

  private toRecord(row: readonly DuckDBValue[]): StoredLogRecord {
    const [seq, timeNs, observedNs, streamId, resourceId, level, severityText, severity, body, traceId, spanId, requestId, attributes, traceHi, traceLo, spanBits] = row;
    const stream = this.streams.get(streamId as number) ?? [];
    return {
      seq: seq as bigint,
      timeNs: timeNs as bigint,
      observedNs: observedNs as bigint,
      service: stream.find((l) => l.name === 'service_name')?.value ?? UNKNOWN_SERVICE,
      level: (level as string | null) ?? levelOfSeverity(severity as number),
      severityText: (severityText as string | null) ?? '',
      severity: severity as number,
      body: body as string,
      traceId: traceIdOf(traceId, traceHi, traceLo),
      spanId: (spanId as string | null) ?? hex64(spanBits),
      requestId: (requestId as string | null) ?? '',
      stream,
      attributes: attributes === null ? {} : (JSON.parse(attributes as string) as Record<string, unknown>),
      resource: this.resources.get(resourceId as number) ?? {},
    };
  }

  async countBuckets(q: LogBucketQuery): Promise<LogBucketCounts> {
    const params: DuckDBValue[] = [];
    const where = this.conditions(q, params);
    const source = this.lineSource(q.fields);
    const streams: Labels[] = [];
    if (where === null || source === null || q.bucketCount <= 0) return emptyBuckets(streams);
    const o = q.originNs;
    const w = q.widthNs;
    where.unshift(`time_ns > ${o}`, `time_ns <= ${o + w * BigInt(q.bucketCount)}`);
    const bytesSql = q.bytes === true ? 'sum(strlen(body))::DOUBLE' : '0::DOUBLE';
    const sql = `SELECT stream_id, level, severity, ((time_ns - ${o + 1n}) // ${w} + 1)::INTEGER AS b, count(*)::DOUBLE, ${bytesSql}
      FROM ${source} WHERE ${where.join(' AND ')} GROUP BY stream_id, level, severity, b`;
    const columns = await this.opts.reads.use(async (conn) => (await conn.runAndReadAll(sql, params)).getColumns());
    const [ids = [], levels = [], severities = [], buckets = [], counts = [], bytes = []] = columns;
    // Rows of one level may sit in several groups (a stored level, or severities 9-12 all "info"): merge them.
    const cellByKey = new Map<string, number>();
    const cells = { streamIndex: [] as number[], level: [] as string[], bucket: [] as number[], count: [] as number[], bytes: [] as number[] };
    const indexById = new Map<number, number>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      let idx = indexById.get(id);
      if (idx === undefined) {
        idx = streams.length;
        streams.push(this.streams.get(id) ?? []);
        indexById.set(id, idx);
      }
      const level = (levels[i] as string | null) ?? levelOfSeverity(severities[i] as number);
      const bucket = buckets[i] as number;
      const key = `${idx}\xff${level}\xff${bucket}`;
      const cell = cellByKey.get(key);
      if (cell === undefined) {
        cellByKey.set(key, cells.count.length);
        cells.streamIndex.push(idx);
        cells.level.push(level);
        cells.bucket.push(bucket);
        cells.count.push(counts[i] as number);
        cells.bytes.push(bytes[i] as number);
      } else {
        cells.count[cell]! += counts[i] as number;
        cells.bytes[cell]! += bytes[i] as number;
      }
    }
    return {
      streams,
      streamIndex: Int32Array.from(cells.streamIndex),
      level: cells.level,
      bucket: Int32Array.from(cells.bucket),
      count: Float64Array.from(cells.count),
      bytes: Float64Array.from(cells.bytes),
    };
  }

  /** Ids of streams with at least one line in [startNs, endNs). */
  private async activeStreamIds(startNs: bigint, endNs: bigint): Promise<number[]> {
    return this.opts.reads.use(async (conn) => {
      const r = await conn.runAndReadAll(`SELECT DISTINCT stream_id FROM logs WHERE time_ns >= ${startNs} AND time_ns < ${endNs}`);
      return r.getRows().map((row) => row[0] as number);
    });
  }

  async series(filter: LogFilter): Promise<Labels[]> {
    const compiled = filter.matchers.map(compileMatcher);
    const out: Labels[] = [];
    for (const id of await this.activeStreamIds(filter.startNs, filter.endNs)) {
      const labels = this.streams.get(id);
      if (labels && matchesAll(compiled, labels)) out.push(labels);
    }
    return out;
  }

  async labelNames(startNs: bigint, endNs: bigint): Promise<string[]> {
    const names = new Set<string>();
    for (const id of await this.activeStreamIds(startNs, endNs)) for (const l of this.streams.get(id) ?? []) names.add(l.name);
    return [...names].sort();
  }

  async labelValues(name: string, startNs: bigint, endNs: bigint, matchers: readonly Matcher[] = []): Promise<string[]> {
    const values = new Set<string>();
    for (const labels of await this.series({ startNs, endNs, matchers })) {
      for (const l of labels) if (l.name === name) values.add(l.value);
    }
    return [...values].sort();
  }

  async context(seq: bigint, before: number, after: number): Promise<{ before: StoredLogRecord[]; line: StoredLogRecord | null; after: StoredLogRecord[] }> {
    const found = await this.readRecords(`SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE seq = ${seq}`);
    const line = found[0] ?? null;
    if (line === null) return { before: [], line: null, after: [] };
    const streamId = this.streams.committedId(labelsJson(line.stream));
    if (streamId === undefined) return { before: [], line, after: [] };
    const t = line.timeNs;
    const earlier = await this.readRecords(
      `SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE stream_id = ${streamId} AND time_ns >= ${t - CONTEXT_WINDOW_NS} AND (time_ns, seq) < (${t}, ${seq}) ORDER BY time_ns DESC, seq DESC LIMIT ${Math.max(0, Math.floor(before))}`,
    );
    const later = await this.readRecords(
      `SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE stream_id = ${streamId} AND time_ns <= ${t + CONTEXT_WINDOW_NS} AND (time_ns, seq) > (${t}, ${seq}) ORDER BY time_ns ASC, seq ASC LIMIT ${Math.max(0, Math.floor(after))}`,
    );
    return { before: earlier.reverse(), line, after: later };
  }

  tail(matchers: readonly Matcher[], listener: LogTailListener): () => void {
    const sub: Subscriber = { matchers: matchers.map(compileMatcher), listener };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  async stats(): Promise<LogStoreStats> {
    const lines = await this.opts.reads.use(async (conn) => (await conn.runAndReadAll('SELECT count(*) FROM logs')).getRows()[0]?.[0]);
    return { lines: Number(lines ?? 0), streams: this.streams.size };
  }
}

/** The stored text of a label set: JSON name/value pairs in label order (Labels are sorted, so it is canonical). */
function labelsJson(labels: Labels): string {
  return JSON.stringify(labels.map((l) => [l.name, l.value]));
}

function parseLabels(json: string): Labels {
  const pairs = JSON.parse(json) as [string, string][];
  return pairs.map(([name, value]) => ({ name, value }));
}

/** Orders [seq, time_ns, ...] rows by time, then seq. */
function compareTimeSeq(a: readonly DuckDBValue[], b: readonly DuckDBValue[]): number {
  const ta = a[1] as bigint;
  const tb = b[1] as bigint;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const sa = a[0] as bigint;
  const sb = b[0] as bigint;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * SQL for "the line's level is `level`" by the level and severity columns (log-tables.ts): NULL in the column stands for the level
 * the severity number implies, 1-4 trace up to 21-24 fatal, and '' when it implies none.
 */
function levelColumnCondition(level: string, p: (v: DuckDBValue) => string): string {
  const range = SEVERITY_RANGE_OF_LEVEL.get(level);
  if (range !== undefined) return `(level = ${p(level)} OR (level IS NULL AND severity BETWEEN ${range[0]} AND ${range[1]}))`;
  if (level === '') return `(level = '' OR (level IS NULL AND NOT (severity BETWEEN 1 AND 24)))`;
  return `level = ${p(level)}`;
}

const SEVERITY_RANGE_OF_LEVEL = new Map<string, readonly [number, number]>(
  ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((name, i) => [name, [4 * i + 1, 4 * i + 4]] as const),
);

function emptyBuckets(streams: Labels[]): LogBucketCounts {
  return { streams, streamIndex: new Int32Array(0), level: [], bucket: new Int32Array(0), count: new Float64Array(0), bytes: new Float64Array(0) };
}
