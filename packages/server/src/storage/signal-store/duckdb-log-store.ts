/**
 * The LogStore on the embedded DuckDB signal store. Stream label sets are kept in memory (as
 * Loki's index is) and resolved to stream ids before a query, so DuckDB filters an integer
 * column; the time range prunes row groups by zone maps; exact request-id and trace-id lookups
 * scan a hash column; substring and regex filters run inside DuckDB (RE2, as in Loki).
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { Labels } from '../../model/labels.js';
import { labelsKey } from '../../model/labels.js';
import type { LogRecord, StoredLogRecord } from '../../model/log-record.js';
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
import { LOG_SELECT_COLUMNS, LOG_STREAMS_TABLE, LOGS_TABLE } from './log-tables.js';
import type { ReadPool } from './read-pool.js';
import { hash53, hashColumnValue } from './string-hash.js';
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

/** Lines around a context line are looked for within this distance in time (ns). */
const CONTEXT_WINDOW_NS = 86_400_000_000_000n;

export class DuckDBLogStore implements LogStore {
  /** Committed streams: id → labels and labels key → id. */
  private readonly labelsById = new Map<bigint, Labels>();
  private readonly idByKey = new Map<string, bigint>();
  /** Streams referenced by writes not yet settled; retention must not delete their rows. */
  private readonly pendingRefs = new Map<bigint, number>();
  private readonly subscribers = new Set<Subscriber>();
  private nextSeq = 1n;

  private constructor(private readonly opts: DuckDBLogStoreOptions) {}

  static async open(opts: DuckDBLogStoreOptions): Promise<DuckDBLogStore> {
    await opts.migrate(LOG_STREAMS_TABLE);
    await opts.migrate(LOGS_TABLE);
    const store = new DuckDBLogStore(opts);
    const streams = await opts.writeConn.runAndReadAll('SELECT DISTINCT stream_id, labels FROM log_streams');
    for (const [id, labels] of streams.getRows()) {
      const parsed = parseLabels(labels as string);
      store.labelsById.set(id as bigint, parsed);
      store.idByKey.set(labelsKey(parsed), id as bigint);
    }
    const maxSeq = await opts.writeConn.runAndReadAll('SELECT max(seq) FROM logs');
    const max = maxSeq.getRows()[0]?.[0];
    if (typeof max === 'bigint') store.nextSeq = max + 1n;
    return store;
  }

  /** The tables this store owns (for retention registration). */
  tables(): TableSchema[] {
    return [LOG_STREAMS_TABLE, LOGS_TABLE];
  }

  /** Retention hook: drops stream rows no line refers to any more, unless a pending write needs them. */
  retentionHook(): (conn: DuckDBConnection) => Promise<void> {
    return async (conn) => {
      const orphans = await conn.runAndReadAll('SELECT DISTINCT stream_id FROM log_streams WHERE stream_id NOT IN (SELECT DISTINCT stream_id FROM logs)');
      const ids = orphans
        .getRows()
        .map((r) => r[0] as bigint)
        .filter((id) => !this.pendingRefs.has(id));
      if (ids.length === 0) return;
      await conn.run(`DELETE FROM log_streams WHERE stream_id IN (${ids.join(',')})`);
      for (const id of ids) {
        const labels = this.labelsById.get(id);
        if (labels) this.idByKey.delete(labelsKey(labels));
        this.labelsById.delete(id);
      }
    };
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    const n = records.length;
    if (n === 0) return;
    const cols = LOGS_TABLE.columns.map(() => new Array<unknown>(n));
    const [seqC, timeC, obsC, streamC, serviceC, levelC, sevTextC, sevC, bodyC, traceC, spanC, reqC, traceHashC, reqHashC, attrC, resC] = cols as [
      unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[],
    ];
    const idsByLabels = new Map<Labels, bigint>();
    const resourceJson = new Map<object, string>();
    const newStreams = new Map<bigint, { labels: Labels; key: string; firstNs: bigint }>();
    const newIdByKey = new Map<string, bigint>();
    const refs = new Map<bigint, number>();
    const firstSeq = this.nextSeq;
    this.nextSeq += BigInt(n);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      let streamId = idsByLabels.get(r.stream);
      if (streamId === undefined) {
        const key = labelsKey(r.stream);
        streamId = this.idByKey.get(key);
        streamId ??= newIdByKey.get(key);
        if (streamId === undefined) {
          streamId = this.freshStreamId(key, newStreams);
          newStreams.set(streamId, { labels: r.stream, key, firstNs: r.timeNs });
          newIdByKey.set(key, streamId);
        }
        idsByLabels.set(r.stream, streamId);
      }
      refs.set(streamId, (refs.get(streamId) ?? 0) + 1);
      let res = resourceJson.get(r.resource);
      if (res === undefined) {
        res = JSON.stringify(r.resource);
        resourceJson.set(r.resource, res);
      }
      seqC[i] = firstSeq + BigInt(i);
      timeC[i] = r.timeNs;
      obsC[i] = r.observedNs;
      streamC[i] = streamId;
      serviceC[i] = r.service;
      levelC[i] = r.level;
      sevTextC[i] = r.severityText;
      sevC[i] = r.severity >= 0 && r.severity <= 24 ? r.severity : 0;
      bodyC[i] = r.body;
      traceC[i] = r.traceId;
      spanC[i] = r.spanId;
      reqC[i] = r.requestId;
      traceHashC[i] = hashColumnValue(r.traceId);
      reqHashC[i] = hashColumnValue(r.requestId);
      attrC[i] = JSON.stringify(r.attributes);
      resC[i] = res;
    }
    const streamRows = [...newStreams].map(([id, s]) => [id, JSON.stringify(s.labels.map((l) => [l.name, l.value])), s.firstNs] as const);
    for (const [id, c] of refs) this.pendingRefs.set(id, (this.pendingRefs.get(id) ?? 0) + c);
    const release = (): void => {
      for (const [id, c] of refs) {
        const left = (this.pendingRefs.get(id) ?? 0) - c;
        if (left > 0) this.pendingRefs.set(id, left);
        else this.pendingRefs.delete(id);
      }
    };
    try {
      await this.opts.writes.submit({
        batches: [
          { table: LOG_STREAMS_TABLE, rowCount: streamRows.length, columns: [streamRows.map((r) => r[0]), streamRows.map((r) => r[1]), streamRows.map((r) => r[2])] },
          { table: LOGS_TABLE, rowCount: n, columns: cols },
        ],
        afterCommit: () => {
          for (const [id, s] of newStreams) {
            this.labelsById.set(id, s.labels);
            this.idByKey.set(s.key, id);
          }
          if (this.subscribers.size > 0) this.publish(records, firstSeq, streamC as bigint[]);
        },
      });
    } finally {
      release();
    }
  }

  /** A stream id for a new label set: its hash, probed past the (astronomically rare) collisions. */
  private freshStreamId(key: string, pending: ReadonlyMap<bigint, unknown>): bigint {
    let id = BigInt(hash53(key));
    while (this.labelsById.has(id) || pending.has(id)) id += 1n;
    return id;
  }

  private publish(records: readonly LogRecord[], firstSeq: bigint, streamIds: readonly bigint[]): void {
    for (const sub of this.subscribers) {
      const matched: StoredLogRecord[] = [];
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (matchesAll(sub.matchers, r.stream)) matched.push({ ...r, seq: firstSeq + BigInt(i), stream: this.labelsById.get(streamIds[i]!) ?? r.stream });
      }
      if (matched.length > 0) sub.listener(matched);
    }
  }

  /** Stream ids matching the matchers, or null when every stream matches (no stream condition needed). */
  private matchingStreamIds(matchers: readonly Matcher[]): bigint[] | null {
    if (matchers.length === 0) return null;
    const compiled = matchers.map(compileMatcher);
    const ids: bigint[] = [];
    for (const [id, labels] of this.labelsById) if (matchesAll(compiled, labels)) ids.push(id);
    return ids;
  }

  /** SQL conditions for a filter (without time), or null when no stream can match. */
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
    if (fields?.level !== undefined) where.push(`level = ${p(fields.level)}`);
    if (fields?.requestId !== undefined) where.push(`request_hash = ${p(hashColumnValue(fields.requestId))} AND request_id = ${p(fields.requestId)}`);
    if (fields?.traceId !== undefined) where.push(`trace_hash = ${p(hashColumnValue(fields.traceId))} AND trace_id = ${p(fields.traceId)}`);
    if (fields?.spanId !== undefined) where.push(`span_id = ${p(fields.spanId)}`);
    return where;
  }

  async select(q: LogSelectQuery): Promise<StoredLogRecord[]> {
    const params: DuckDBValue[] = [q.startNs, q.endNs];
    const where = this.conditions(q, params);
    if (where === null || q.limit <= 0) return [];
    where.unshift('time_ns >= $1', 'time_ns < $2');
    const desc = q.direction === 'backward';
    if (q.after) {
      params.push(q.after.timeNs, q.after.seq);
      const a = params.length - 1;
      where.push(desc ? `(time_ns, seq) < ($${a}, $${a + 1})` : `(time_ns, seq) > ($${a}, $${a + 1})`);
    }
    const order = desc ? 'time_ns DESC, seq DESC' : 'time_ns ASC, seq ASC';
    const sql = `SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${Math.floor(q.limit)}`;
    return this.readRecords(sql, params);
  }

  private readRecords(sql: string, params: DuckDBValue[]): Promise<StoredLogRecord[]> {
    return this.opts.reads.use(async (conn) => {
      const reader = await conn.runAndReadAll(sql, params);
      return reader.getRows().map((row) => this.toRecord(row));
    });
  }

  private toRecord(row: readonly DuckDBValue[]): StoredLogRecord {
    const [seq, timeNs, observedNs, streamId, service, level, severityText, severity, body, traceId, spanId, requestId, attributes, resource] = row;
    return {
      seq: seq as bigint,
      timeNs: timeNs as bigint,
      observedNs: observedNs as bigint,
      service: service as string,
      level: level as string,
      severityText: severityText as string,
      severity: severity as number,
      body: body as string,
      traceId: traceId as string,
      spanId: spanId as string,
      requestId: requestId as string,
      stream: this.labelsById.get(streamId as bigint) ?? [],
      attributes: JSON.parse(attributes as string) as Record<string, unknown>,
      resource: JSON.parse(resource as string) as Record<string, unknown>,
    };
  }

  async countBuckets(q: LogBucketQuery): Promise<LogBucketCounts> {
    const params: DuckDBValue[] = [q.originNs, q.widthNs, q.originNs + q.widthNs * BigInt(q.bucketCount)];
    const where = this.conditions(q, params);
    const streams: Labels[] = [];
    if (where === null || q.bucketCount <= 0) return emptyBuckets(streams);
    where.unshift('time_ns > $1', 'time_ns <= $3');
    const sql = `SELECT stream_id, level, ((time_ns - $1 + $2 - 1) // $2)::INTEGER AS b, count(*)::DOUBLE, sum(strlen(body))::DOUBLE
      FROM logs WHERE ${where.join(' AND ')} GROUP BY stream_id, level, b`;
    const columns = await this.opts.reads.use(async (conn) => (await conn.runAndReadAll(sql, params)).getColumns());
    const [ids = [], levels = [], buckets = [], counts = [], bytes = []] = columns;
    const indexById = new Map<bigint, number>();
    const streamIndex = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as bigint;
      let idx = indexById.get(id);
      if (idx === undefined) {
        idx = streams.length;
        streams.push(this.labelsById.get(id) ?? []);
        indexById.set(id, idx);
      }
      streamIndex[i] = idx;
    }
    return {
      streams,
      streamIndex,
      level: levels as string[],
      bucket: Int32Array.from(buckets as number[]),
      count: Float64Array.from(counts as number[]),
      bytes: Float64Array.from(bytes as number[]),
    };
  }

  /** Ids of streams with at least one line in [startNs, endNs). */
  private async activeStreamIds(startNs: bigint, endNs: bigint): Promise<bigint[]> {
    return this.opts.reads.use(async (conn) => {
      const r = await conn.runAndReadAll('SELECT DISTINCT stream_id FROM logs WHERE time_ns >= $1 AND time_ns < $2', [startNs, endNs]);
      return r.getRows().map((row) => row[0] as bigint);
    });
  }

  async series(filter: LogFilter): Promise<Labels[]> {
    const compiled = filter.matchers.map(compileMatcher);
    const out: Labels[] = [];
    for (const id of await this.activeStreamIds(filter.startNs, filter.endNs)) {
      const labels = this.labelsById.get(id);
      if (labels && matchesAll(compiled, labels)) out.push(labels);
    }
    return out;
  }

  async labelNames(startNs: bigint, endNs: bigint): Promise<string[]> {
    const names = new Set<string>();
    for (const id of await this.activeStreamIds(startNs, endNs)) for (const l of this.labelsById.get(id) ?? []) names.add(l.name);
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
    const found = await this.readRecords(`SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE seq = $1`, [seq]);
    const line = found[0] ?? null;
    if (line === null) return { before: [], line: null, after: [] };
    const streamId = this.idByKey.get(labelsKey(line.stream));
    if (streamId === undefined) return { before: [], line, after: [] };
    const t = line.timeNs;
    const earlier = await this.readRecords(
      `SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE stream_id = $1 AND time_ns >= $2 AND (time_ns, seq) < ($3, $4) ORDER BY time_ns DESC, seq DESC LIMIT ${Math.max(0, Math.floor(before))}`,
      [streamId, t - CONTEXT_WINDOW_NS, t, seq],
    );
    const later = await this.readRecords(
      `SELECT ${LOG_SELECT_COLUMNS} FROM logs WHERE stream_id = $1 AND time_ns <= $2 AND (time_ns, seq) > ($3, $4) ORDER BY time_ns ASC, seq ASC LIMIT ${Math.max(0, Math.floor(after))}`,
      [streamId, t + CONTEXT_WINDOW_NS, t, seq],
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
    return { lines: Number(lines ?? 0), streams: this.labelsById.size };
  }
}

function parseLabels(json: string): Labels {
  const pairs = JSON.parse(json) as [string, string][];
  return pairs.map(([name, value]) => ({ name, value }));
}

function emptyBuckets(streams: Labels[]): LogBucketCounts {
  return { streams, streamIndex: new Int32Array(0), level: [], bucket: new Int32Array(0), count: new Float64Array(0), bytes: new Float64Array(0) };
}
