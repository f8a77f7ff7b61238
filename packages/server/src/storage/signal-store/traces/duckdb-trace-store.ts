/**
 * The TraceStore on the embedded DuckDB signal store. Writes go through the store's group-commit
 * queue (durable before they resolve); reads use its read pool. A trace is fetched by scanning the
 * trace_key column (one BIGINT per span, a few milliseconds per million spans) and re-checking
 * the full id; searches filter spans by time range (zone maps), intrinsic columns and the
 * flattened tags, then summarise the matching traces in the same query.
 */
import type { Span } from '../../../model/span.js';
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
import type { SignalStore } from '../signal-store.js';
import { hashColumnValue } from '../string-hash.js';
import { SpanRowDecoder, encodeResource, encodeScope, encodeSpanBody, flattenTags } from './span-codec.js';
import { SqlParams, conditionSql, fieldValueSql } from './span-condition-sql.js';
import { SPAN_SELECT_COLUMNS, SPANS_TABLE, TAG_SEPARATOR, traceKeyOf } from './trace-tables.js';

export interface DuckDBTraceStoreOptions {
  /** Retention of spans in ms (config `storage.retention.traces`); 0 keeps them forever. */
  readonly retentionMs: number;
}

/** Spans read at most when listing tag names or values (recent enough to be representative). */
const TAG_SAMPLE_SPANS = 200_000;

type JsRow = Record<string, unknown>;

export class DuckDBTraceStore implements TraceStore {
  private constructor(private readonly signals: SignalStore) {}

  /** Creates or migrates the span table on `signals` and registers its retention. */
  static async open(signals: SignalStore, opts: DuckDBTraceStoreOptions): Promise<DuckDBTraceStore> {
    await signals.ensureTables([SPANS_TABLE], opts.retentionMs);
    return new DuckDBTraceStore(signals);
  }

  append(spans: readonly Span[]): Promise<void> {
    const n = spans.length;
    if (n === 0) return Promise.resolve();
    const cols = SPANS_TABLE.columns.map(() => new Array<unknown>(n));
    const resourceText = new Map<object, { json: string; tags: string }>();
    const scopeText = new Map<object, string>();
    for (let i = 0; i < n; i++) {
      const s = spans[i]!;
      let res = resourceText.get(s.resource);
      if (res === undefined) {
        res = { json: encodeResource(s.resource), tags: flattenTags('resource.', s.resource.attributes) };
        resourceText.set(s.resource, res);
      }
      let scope = scopeText.get(s.scope);
      if (scope === undefined) {
        scope = encodeScope(s.scope);
        scopeText.set(s.scope, scope);
      }
      let c = 0;
      cols[c++]![i] = traceKeyOf(s.traceId);
      cols[c++]![i] = s.traceId;
      cols[c++]![i] = s.spanId;
      cols[c++]![i] = s.parentSpanId;
      cols[c++]![i] = s.startNs;
      cols[c++]![i] = s.endNs;
      cols[c++]![i] = s.endNs > s.startNs ? s.endNs - s.startNs : 0n;
      cols[c++]![i] = s.service;
      cols[c++]![i] = s.name;
      cols[c++]![i] = s.kind;
      cols[c++]![i] = s.statusCode;
      cols[c++]![i] = s.statusMessage;
      cols[c++]![i] = s.requestId;
      cols[c++]![i] = hashColumnValue(s.requestId);
      cols[c++]![i] = TAG_SEPARATOR + flattenTags('span.', s.attributes) + res.tags;
      cols[c++]![i] = encodeSpanBody(s);
      cols[c++]![i] = res.json;
      cols[c++]![i] = scope;
    }
    return this.signals.write({ batches: [{ table: SPANS_TABLE, rowCount: n, columns: cols }] });
  }

  async trace(traceId: string): Promise<Span[]> {
    if (!isValidHexId(traceId, 32)) return [];
    const rows = await this.signals.reads.use(async (conn) => {
      const reader = await conn.runAndReadAll(
        `SELECT ${SPAN_SELECT_COLUMNS} FROM spans WHERE trace_key = $1 AND trace_id = $2 ORDER BY start_ns, span_id`,
        [traceKeyOf(traceId), traceId],
      );
      return reader.getRows();
    });
    const decoder = new SpanRowDecoder();
    return rows.map((row) => decoder.decode(row));
  }

  async search(q: TraceSearchQuery): Promise<TraceSummary[]> {
    const params = new SqlParams();
    const where = [`start_ns >= ${params.add(q.startNs)}`, `start_ns < ${params.add(q.endNs)}`];
    if (q.condition !== null) where.push(conditionSql(q.condition, params));
    const durationFilter: string[] = [];
    if (q.minDurationNs !== undefined) durationFilter.push(`s.end_ns - s.start_ns >= ${params.add(q.minDurationNs)}`);
    if (q.maxDurationNs !== undefined) durationFilter.push(`s.end_ns - s.start_ns <= ${params.add(q.maxDurationNs)}`);
    const limit = params.add(Math.max(1, Math.floor(q.limit)));
    const perTrace = Math.max(0, Math.floor(q.spansPerTrace));
    // Without a trace-duration bound the newest matching traces are known before summarising,
    // so only those are summarised; with one, every candidate must be measured first.
    const matched = `SELECT trace_key, trace_id, max(start_ns) AS last_ns, count(*) AS matched_count,
        list({'span_id': span_id, 'name': name, 'service': service, 'start_ns': start_ns, 'duration_ns': duration_ns} ORDER BY start_ns)[1:${perTrace}] AS matched
      FROM spans WHERE ${where.join(' AND ')} GROUP BY trace_key, trace_id
      ${durationFilter.length === 0 ? `ORDER BY last_ns DESC LIMIT ${limit}` : ''}`;
    const sql = `WITH t AS (${matched}), s AS (${summarySql('t')})
      SELECT s.*, t.matched, t.matched_count FROM s JOIN t USING (trace_id)
      ${durationFilter.length > 0 ? `WHERE ${durationFilter.join(' AND ')}` : ''}
      ORDER BY t.last_ns DESC LIMIT ${limit}`;
    const rows = await this.readObjects(sql, params);
    return rows.map(toSummary);
  }

  async summaries(traceIds: readonly string[]): Promise<TraceSummary[]> {
    const ids = [...new Set(traceIds)].filter((id) => isValidHexId(id, 32));
    if (ids.length === 0) return [];
    const params = new SqlParams();
    const values = ids.map((id) => `(${params.add(traceKeyOf(id))}, ${params.add(id)})`).join(', ');
    const sql = `WITH t AS (SELECT * FROM (VALUES ${values}) v(trace_key, trace_id)), s AS (${summarySql('t')})
      SELECT s.*, [] AS matched, 0 AS matched_count FROM s ORDER BY s.start_ns DESC`;
    const rows = await this.readObjects(sql, params);
    return rows.map(toSummary);
  }

  async traceIdsByRequestId(requestId: string, startNs: bigint, endNs: bigint, limit: number): Promise<string[]> {
    if (requestId === '') return [];
    const params = new SqlParams();
    const sql = `SELECT trace_id, max(start_ns) AS last_ns FROM spans
      WHERE request_hash = ${params.add(hashColumnValue(requestId))} AND request_id = ${params.add(requestId)}
        AND start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)}
      GROUP BY trace_id ORDER BY last_ns DESC LIMIT ${params.add(Math.max(1, Math.floor(limit)))}`;
    const rows = await this.readObjects(sql, params);
    return rows.map((r) => r.trace_id as string);
  }

  async tagNames(startNs: bigint, endNs: bigint): Promise<TagNames> {
    const params = new SqlParams();
    const sql = `SELECT DISTINCT split_part(e, '=', 1) AS tag FROM (
        SELECT unnest(string_split(tags, '${TAG_SEPARATOR}')) AS e FROM (
          SELECT tags FROM spans WHERE start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)} LIMIT ${TAG_SAMPLE_SPANS}))
      WHERE e <> '' ORDER BY tag`;
    const rows = await this.readObjects(sql, params);
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
    const params = new SqlParams();
    const { present, value } = fieldValueSql(field);
    const sql = `SELECT DISTINCT v FROM (
        SELECT ${value} AS v FROM spans
        WHERE start_ns >= ${params.add(startNs)} AND start_ns < ${params.add(endNs)} AND ${present} LIMIT ${TAG_SAMPLE_SPANS})
      ORDER BY v LIMIT ${params.add(Math.max(1, Math.floor(limit)))}`;
    const rows = await this.readObjects(sql, params);
    return rows.map((r) => r.v as string);
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
    const rows = await this.readObjects('SELECT count(*) AS spans, count(DISTINCT trace_key) AS traces FROM spans', new SqlParams());
    return { spans: Number(rows[0]?.spans ?? 0), traces: Number(rows[0]?.traces ?? 0) };
  }

  private readObjects(sql: string, params: SqlParams): Promise<JsRow[]> {
    return this.signals.reads.use(async (conn) => {
      const reader = await conn.runAndReadAll(sql, params.values);
      return reader.getRowObjectsJS() as JsRow[];
    });
  }
}

/** Per-trace aggregates over every span of the traces listed in CTE `t` (trace_key, trace_id). */
function summarySql(t: string): string {
  return `SELECT sp.trace_id,
      min(sp.start_ns) AS start_ns, max(sp.end_ns) AS end_ns, count(*) AS span_count,
      count(*) FILTER (WHERE sp.status_code = 2) AS error_count,
      arg_min(sp.service, (sp.parent_span_id <> '', sp.start_ns)) AS root_service,
      arg_min(sp.name, (sp.parent_span_id <> '', sp.start_ns)) AS root_name,
      bool_or(sp.parent_span_id = '') AS has_root,
      histogram(sp.service) AS services,
      histogram(sp.service) FILTER (WHERE sp.status_code = 2) AS error_services,
      list(DISTINCT sp.request_id) FILTER (WHERE sp.request_id <> '') AS request_ids
    FROM spans sp
    WHERE sp.trace_key IN (SELECT trace_key FROM ${t}) AND sp.trace_id IN (SELECT trace_id FROM ${t})
    GROUP BY sp.trace_id`;
}

function toSummary(r: JsRow): TraceSummary {
  const start = r.start_ns as bigint;
  const end = r.end_ns as bigint;
  const errors = new Map(((r.error_services as { key: string; value: bigint }[] | null) ?? []).map((e) => [e.key, Number(e.value)]));
  const services = ((r.services as { key: string; value: bigint }[] | null) ?? [])
    .map((e) => ({ service: e.key, spanCount: Number(e.value), errorCount: errors.get(e.key) ?? 0 }))
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const matched = ((r.matched as Record<string, unknown>[] | null) ?? []).map(
    (m): MatchedSpan => ({
      spanId: m.span_id as string,
      name: m.name as string,
      service: m.service as string,
      startNs: m.start_ns as bigint,
      durationNs: m.duration_ns as bigint,
    }),
  );
  return {
    traceId: r.trace_id as string,
    rootService: r.root_service as string,
    rootName: r.root_name as string,
    hasRoot: r.has_root === true,
    startNs: start,
    durationNs: end > start ? end - start : 0n,
    spanCount: Number(r.span_count),
    errorCount: Number(r.error_count),
    services,
    requestIds: ((r.request_ids as string[] | null) ?? []).slice().sort(),
    matched,
    matchedCount: Number(r.matched_count ?? 0),
  };
}
