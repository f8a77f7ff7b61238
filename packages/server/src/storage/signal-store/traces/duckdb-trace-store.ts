/**
 * The TraceStore on the embedded DuckDB signal store. Writes go through the store's group-commit
 * queue (durable before they resolve); reads use its read pool. A trace is fetched by finding its
 * time extent in the small trace_index table, then reading only the span row groups whose
 * start_ns zone maps cover it (re-checking the full id). Searches filter spans by time range
 * (zone maps), intrinsic columns and the flattened tags, pick the newest matching traces, and
 * only then summarise those few.
 */
import type { Span, SpanResource, SpanScope } from '../../../model/span.js';
import { isValidHexId } from '../../../model/span.js';
import type {
  MatchedSpan,
  ServiceOperations,
  SpanField,
  TagNames,
  TraceSearchQuery,
  TraceStore,
  TraceStoreStats,
  TraceSummary,
} from '../../trace-store.js';
import { hexOfInt64 } from '../hex-id-columns.js';
import type { SignalStore } from '../signal-store.js';
import type { WriteUnit } from '../write-queue.js';
import { hash53, hashColumnValue } from '../string-hash.js';
import { SpanColumns } from './span-columns.js';
import { SpanRowDecoder, encodeResource, encodeScope, flattenTags } from './span-codec.js';
import { SqlParams, conditionSql, intrinsicValueSql, scopesOf, tagPresentSql, tagValueSql } from './span-condition-sql.js';
import {
  SPAN_ID_ORDER,
  SPAN_ORIGINS_TABLE,
  SPAN_SELECT_COLUMNS,
  SPANS_TABLE,
  SPANS_WITH_ORIGINS,
  TAG_SEPARATOR,
  TRACE_INDEX_TABLE,
  traceIdOf,
  traceKeyOf,
} from './trace-tables.js';

export interface DuckDBTraceStoreOptions {
  /** Retention of spans in ms (config `storage.retention.traces`); 0 keeps them forever. */
  readonly retentionMs: number;
}

/** Spans read at most when listing tag names or values (recent enough to be representative). */
const TAG_SAMPLE_SPANS = 200_000;

type JsRow = Record<string, unknown>;

export class DuckDBTraceStore implements TraceStore {
  /** Origins known to be committed; a write adds the rows of the others. */
  private readonly knownOrigins = new Set<bigint>();

  private constructor(private readonly signals: SignalStore) {}

  /** Creates or migrates the trace tables on `signals` and registers their retention. */
  static async open(signals: SignalStore, opts: DuckDBTraceStoreOptions): Promise<DuckDBTraceStore> {
    await signals.ensureTables([SPANS_TABLE, TRACE_INDEX_TABLE, SPAN_ORIGINS_TABLE], opts.retentionMs);
    const store = new DuckDBTraceStore(signals);
    for (const r of await store.readObjects('SELECT DISTINCT origin_id FROM span_origins', new SqlParams())) store.knownOrigins.add(r.origin_id as bigint);
    return store;
  }

  /**
   * Builds the rows synchronously and resolves once they are durable. Not an async function on
   * purpose: nothing holds `spans` while the commit is pending, so the caller can let a request's
   * span objects go before its write is acknowledged (they would otherwise outlive several young
   * garbage collections and be promoted).
   */
  append(spans: readonly Span[]): Promise<void> {
    if (spans.length === 0) return Promise.resolve();
    let newOrigins: readonly unknown[];
    let written: Promise<void>;
    try {
      const rows = this.rows(spans);
      newOrigins = rows.newOrigins;
      written = this.signals.write(rows.unit);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return written.then(() => {
      for (const id of newOrigins) this.knownOrigins.add(id as bigint);
    });
  }

  /** The write unit of a batch of spans, and the ids of origins it adds. */
  private rows(spans: readonly Span[]): { unit: WriteUnit; newOrigins: readonly unknown[] } {
    const n = spans.length;
    const cols = new SpanColumns(n);
    // Per trace of this write: its first row and time extent (a request holds a few hundred traces at most).
    const extentOf = new Map<string, number>();
    const firstRow: number[] = [];
    const minStart: bigint[] = [];
    const maxStart: bigint[] = [];
    const maxEnd: bigint[] = [];
    const originOf = new Map<SpanResource, Map<SpanScope, bigint>>();
    const newOrigins: unknown[][] = SPAN_ORIGINS_TABLE.columns.map(() => []);
    for (let i = 0; i < n; i++) {
      const s = spans[i]!;
      let byScope = originOf.get(s.resource);
      if (byScope === undefined) {
        byScope = new Map();
        originOf.set(s.resource, byScope);
      }
      let originId = byScope.get(s.scope);
      if (originId === undefined) {
        const resource = encodeResource(s.resource);
        const scope = encodeScope(s.scope);
        originId = BigInt(hash53(`${resource}\n${scope}`));
        byScope.set(s.scope, originId);
        if (!this.knownOrigins.has(originId)) {
          newOrigins[0]!.push(originId);
          newOrigins[1]!.push(resource);
          newOrigins[2]!.push(scope);
          newOrigins[3]!.push(flattenTags('resource.', s.resource.attributes, TAG_SEPARATOR));
        }
      }
      const e = extentOf.get(s.traceId);
      if (e === undefined) {
        extentOf.set(s.traceId, firstRow.length);
        firstRow.push(i);
        minStart.push(s.startNs);
        maxStart.push(s.startNs);
        maxEnd.push(s.endNs);
      } else {
        if (s.startNs < minStart[e]!) minStart[e] = s.startNs;
        if (s.startNs > maxStart[e]!) maxStart[e] = s.startNs;
        if (s.endNs > maxEnd[e]!) maxEnd[e] = s.endNs;
      }
      cols.set(i, s, originId);
    }
    cols.finishIds();
    const traces = firstRow.length;
    const indexKey = new BigInt64Array(traces);
    const indexHi = new BigInt64Array(traces);
    for (let t = 0; t < traces; t++) {
      indexKey[t] = cols.traceKey[firstRow[t]!]!;
      indexHi[t] = cols.traceHi[firstRow[t]!]!;
    }
    // One unit: the spans, their index rows and new origins commit together or not at all.
    const unit: WriteUnit = {
      batches: [
        { table: SPANS_TABLE, rowCount: n, columns: cols.columns() },
        {
          table: TRACE_INDEX_TABLE,
          rowCount: traces,
          columns: [indexKey, indexHi, BigInt64Array.from(minStart), BigInt64Array.from(maxStart), BigInt64Array.from(maxEnd)],
        },
        { table: SPAN_ORIGINS_TABLE, rowCount: newOrigins[0]!.length, columns: newOrigins },
      ],
    };
    return { unit, newOrigins: newOrigins[0]! };
  }

  async trace(traceId: string): Promise<Span[]> {
    if (!isValidHexId(traceId, 32)) return [];
    const { key, hi } = traceKeyOf(traceId);
    const rows = await this.signals.reads.use(async (conn) => {
      const extent = await conn.runAndReadAll('SELECT min(min_start_ns), max(max_start_ns) FROM trace_index WHERE trace_key = $1 AND trace_hi = $2', [key, hi]);
      const [lo, hiStart] = extent.getRows()[0] ?? [null, null];
      if (typeof lo !== 'bigint' || typeof hiStart !== 'bigint') return [];
      const reader = await conn.runAndReadAll(
        `SELECT ${SPAN_SELECT_COLUMNS} FROM ${SPANS_WITH_ORIGINS}
         WHERE s.start_ns BETWEEN $1 AND $2 AND s.trace_key = $3 AND s.trace_hi = $4 ORDER BY s.start_ns, ${SPAN_ID_ORDER}`,
        [lo, hiStart, key, hi],
      );
      return reader.getRows();
    });
    const decoder = new SpanRowDecoder();
    return rows.map((row) => decoder.decode(row));
  }

  async search(q: TraceSearchQuery): Promise<TraceSummary[]> {
    // 1. The newest traces with a matching span (measured first when the trace duration is bounded).
    const params = new SqlParams();
    const where = this.matchWhere(q, params);
    const limit = params.add(Math.max(1, Math.floor(q.limit)));
    const candidates = `SELECT trace_key, trace_hi, max(start_ns) AS last_ns, count(*) AS matched_count FROM spans WHERE ${where} GROUP BY trace_key, trace_hi`;
    let sql: string;
    if (q.minDurationNs === undefined && q.maxDurationNs === undefined) {
      sql = `${candidates} ORDER BY last_ns DESC LIMIT ${limit}`;
    } else {
      const bounds: string[] = [];
      if (q.minDurationNs !== undefined) bounds.push(`d.end_ns - d.start_ns >= ${params.add(q.minDurationNs)}`);
      if (q.maxDurationNs !== undefined) bounds.push(`d.end_ns - d.start_ns <= ${params.add(q.maxDurationNs)}`);
      sql = `WITH c AS (${candidates}),
        d AS (SELECT trace_key, trace_hi, min(min_start_ns) AS start_ns, max(max_end_ns) AS end_ns FROM trace_index
              WHERE trace_key IN (SELECT trace_key FROM c) GROUP BY trace_key, trace_hi)
        SELECT c.trace_key, c.trace_hi, c.last_ns, c.matched_count FROM c JOIN d USING (trace_key, trace_hi)
        WHERE ${bounds.join(' AND ')} ORDER BY c.last_ns DESC LIMIT ${limit}`;
    }
    const top = (await this.readObjects(sql, params)).map((r) => ({ traceId: rowTraceId(r), matchedCount: Number(r.matched_count) }));
    if (top.length === 0) return [];
    const ids = top.map((r) => r.traceId);
    // 2. Their summaries and first matching spans.
    const [summaries, matched] = await Promise.all([this.summaries(ids), this.matchedSpans(q, ids)]);
    const byId = new Map(summaries.map((s) => [s.traceId, s]));
    const out: TraceSummary[] = [];
    for (const r of top) {
      const s = byId.get(r.traceId);
      if (s !== undefined) out.push({ ...s, matched: matched.get(s.traceId) ?? [], matchedCount: r.matchedCount });
    }
    return out;
  }

  private matchWhere(q: TraceSearchQuery, params: SqlParams): string {
    const where = [`start_ns >= ${params.add(q.startNs)}`, `start_ns < ${params.add(q.endNs)}`];
    if (q.condition !== null) where.push(conditionSql(q.condition, params));
    return where.join(' AND ');
  }

  /** The first `spansPerTrace` matching spans of each listed trace, earliest first. */
  private async matchedSpans(q: TraceSearchQuery, traceIds: readonly string[]): Promise<Map<string, MatchedSpan[]>> {
    const out = new Map<string, MatchedSpan[]>();
    if (q.spansPerTrace <= 0) return out;
    const params = new SqlParams();
    const wanted = new Set(traceIds);
    const keys = traceIds.map((id) => params.add(traceKeyOf(id).key)).join(', ');
    const sql = `SELECT trace_key, trace_hi, span_key, name, service, start_ns, duration_ns FROM spans
      WHERE trace_key IN (${keys}) AND ${this.matchWhere(q, params)} ORDER BY start_ns, ${SPAN_ID_ORDER}`;
    for (const r of await this.readObjects(sql, params)) {
      const id = rowTraceId(r);
      if (!wanted.has(id)) continue;
      let list = out.get(id);
      if (list === undefined) {
        list = [];
        out.set(id, list);
      }
      if (list.length < q.spansPerTrace) {
        list.push({ spanId: hexOfInt64(r.span_key as bigint), name: r.name as string, service: r.service as string, startNs: r.start_ns as bigint, durationNs: r.duration_ns as bigint });
      }
    }
    return out;
  }

  async summaries(traceIds: readonly string[]): Promise<TraceSummary[]> {
    const ids = [...new Set(traceIds)].filter((id) => isValidHexId(id, 32));
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    const idKeys = ids.map(traceKeyOf);
    // Key and high-half lists filter independently; rows of an unwanted combination are dropped below.
    const idFilter = (params: SqlParams): string =>
      `trace_key IN (${idKeys.map((k) => params.add(k.key)).join(', ')}) AND trace_hi IN (${idKeys.map((k) => params.add(k.hi)).join(', ')})`;
    const extentParams = new SqlParams();
    const extentSql = `SELECT min(min_start_ns) AS lo, max(max_start_ns) AS hi FROM trace_index WHERE ${idFilter(extentParams)}`;
    const [extent] = await this.readObjects(extentSql, extentParams);
    if (typeof extent?.lo !== 'bigint' || typeof extent.hi !== 'bigint') return [];
    // The time extent lets DuckDB skip span row groups by their start_ns zone maps.
    const params = new SqlParams();
    const bounds = `start_ns BETWEEN ${params.add(extent.lo)} AND ${params.add(extent.hi)}`;
    const sql = `SELECT trace_key, trace_hi,
        min(start_ns) AS start_ns, max(end_ns) AS end_ns, count(*) AS span_count,
        count(*) FILTER (WHERE status_code = 2) AS error_count,
        arg_min(service, (parent_key <> 0, start_ns)) AS root_service,
        arg_min(name, (parent_key <> 0, start_ns)) AS root_name,
        bool_or(parent_key = 0) AS has_root,
        histogram(service) AS services,
        histogram(service) FILTER (WHERE status_code = 2) AS error_services,
        list(DISTINCT request_id) FILTER (WHERE request_id IS NOT NULL) AS request_ids
      FROM spans WHERE ${bounds} AND ${idFilter(params)}
      GROUP BY trace_key, trace_hi ORDER BY start_ns DESC`;
    const rows = await this.readObjects(sql, params);
    return rows.map(toSummary).filter((summary) => wanted.has(summary.traceId));
  }

  async traceIdsByRequestId(requestId: string, startNs: bigint, endNs: bigint, limit: number): Promise<string[]> {
    if (requestId === '') return [];
    const params = new SqlParams();
    const sql = `SELECT trace_key, trace_hi, max(start_ns) AS last_ns FROM spans
      WHERE request_hash = ${params.add(hashColumnValue(requestId))} AND request_id = ${params.add(requestId)}
        AND start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)}
      GROUP BY trace_key, trace_hi ORDER BY last_ns DESC LIMIT ${params.add(Math.max(1, Math.floor(limit)))}`;
    const rows = await this.readObjects(sql, params);
    return rows.map(rowTraceId);
  }

  async tagNames(startNs: bigint, endNs: bigint): Promise<TagNames> {
    const names = (table: string, rangeFilter: string) => `SELECT DISTINCT split_part(e, '=', 1) AS tag FROM (
        SELECT unnest(string_split(tags, '${TAG_SEPARATOR}')) AS e FROM (SELECT tags FROM ${table} WHERE ${rangeFilter} LIMIT ${TAG_SAMPLE_SPANS}))
      WHERE e <> ''`;
    const params = new SqlParams();
    const inRange = `start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)}`;
    const origins = `origin_id IN (SELECT DISTINCT origin_id FROM spans WHERE ${inRange})`;
    const rows = await this.readObjects(`${names('spans', inRange)} UNION ${names('span_origins', origins)} ORDER BY tag`, params);
    const span: string[] = [];
    const resource: string[] = [];
    for (const r of rows) {
      const tag = r.tag as string;
      if (tag.startsWith('span.')) span.push(tag.slice(5));
      else if (tag.startsWith('resource.')) resource.push(tag.slice(9));
    }
    // service.name lives in its own column, not in the tags: present whenever any span is.
    const anyParams = new SqlParams();
    const any = await this.readObjects(
      `SELECT 1 AS x FROM spans WHERE start_ns >= ${anyParams.add(startNs)} AND start_ns < ${anyParams.add(endNs)} LIMIT 1`,
      anyParams,
    );
    if (any.length > 0) resource.push('service.name');
    resource.sort();
    return { span, resource };
  }

  async tagValues(field: SpanField, startNs: bigint, endNs: bigint, limit: number): Promise<string[]> {
    const max = Math.max(1, Math.floor(limit));
    const values = new Set<string>();
    const parts = field.kind === 'intrinsic' ? [null] : scopesOf(field);
    for (const a of parts) {
      const params = new SqlParams();
      const inRange = `start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)}`;
      let sample: string;
      if (a === null || a.column !== null) {
        const value = a === null ? intrinsicValueSql((field as Extract<SpanField, { kind: 'intrinsic' }>).name) : a.column!;
        sample = `SELECT ${value} AS v FROM spans WHERE ${inRange} LIMIT ${TAG_SAMPLE_SPANS}`;
      } else if (a.resource) {
        sample = `SELECT ${tagValueSql(a, params)} AS v FROM span_origins
          WHERE ${tagPresentSql(a, params)} AND origin_id IN (SELECT DISTINCT origin_id FROM spans WHERE ${inRange})`;
      } else {
        sample = `SELECT ${tagValueSql(a, params)} AS v FROM spans WHERE ${inRange} AND ${tagPresentSql(a, params)} LIMIT ${TAG_SAMPLE_SPANS}`;
      }
      const rows = await this.readObjects(`SELECT DISTINCT v FROM (${sample}) ORDER BY v LIMIT ${max}`, params);
      for (const r of rows) values.add(r.v as string);
    }
    return [...values].sort().slice(0, max);
  }

  async services(startNs: bigint, endNs: bigint): Promise<ServiceOperations[]> {
    const params = new SqlParams();
    const sql = `SELECT service, name, kind, count(*) AS n FROM spans
      WHERE start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)}
      GROUP BY service, name, kind ORDER BY service, name, kind`;
    const rows = await this.readObjects(sql, params);
    const out: { service: string; operations: { name: string; kind: number; spanCount: number }[] }[] = [];
    for (const r of rows) {
      const service = r.service as string;
      let last = out[out.length - 1];
      if (last === undefined || last.service !== service) {
        last = { service, operations: [] };
        out.push(last);
      }
      last.operations.push({ name: r.name as string, kind: Number(r.kind), spanCount: Number(r.n) });
    }
    return out;
  }

  async stats(): Promise<TraceStoreStats> {
    const rows = await this.readObjects(
      'SELECT (SELECT count(*) FROM spans) AS spans, (SELECT count(*) FROM (SELECT DISTINCT trace_key, trace_hi FROM trace_index)) AS traces',
      new SqlParams(),
    );
    return { spans: Number(rows[0]?.spans ?? 0), traces: Number(rows[0]?.traces ?? 0) };
  }

  private readObjects(sql: string, params: SqlParams): Promise<JsRow[]> {
    return this.signals.reads.use(async (conn) => {
      const reader = await conn.runAndReadAll(sql, params.values);
      return reader.getRowObjectsJS() as JsRow[];
    });
  }
}

/** The hex trace id of a row with trace_key and trace_hi columns. */
function rowTraceId(r: JsRow): string {
  return traceIdOf(r.trace_hi as bigint, r.trace_key as bigint);
}

function toSummary(r: JsRow): TraceSummary {
  const start = r.start_ns as bigint;
  const end = r.end_ns as bigint;
  const errors = new Map(((r.error_services as { key: string; value: bigint }[] | null) ?? []).map((e) => [e.key, Number(e.value)]));
  const services = ((r.services as { key: string; value: bigint }[] | null) ?? [])
    .map((e) => ({ service: e.key, spanCount: Number(e.value), errorCount: errors.get(e.key) ?? 0 }))
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return {
    traceId: rowTraceId(r),
    rootService: r.root_service as string,
    rootName: r.root_name as string,
    hasRoot: r.has_root === true,
    startNs: start,
    durationNs: end > start ? end - start : 0n,
    spanCount: Number(r.span_count),
    errorCount: Number(r.error_count),
    services,
    requestIds: ((r.request_ids as string[] | null) ?? []).slice().sort(),
    matched: [],
    matchedCount: 0,
  };
}
