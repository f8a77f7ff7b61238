/**
 * Tempo's HTTP API, so Grafana's Tempo data source works against Watchkeeper: trace by id (OTLP
 * JSON, or protobuf when Accept asks), search by tags / TraceQL subset / duration / time range,
 * tag names and values (v1 and v2 forms), and echo. Watchkeeper additions under /api/tracing/:
 * services and their operations, a trace's summary (with the ids that link it to logs and
 * errors), and a trace's log lines when a log store is wired.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LogStore } from '../../storage/log-store.js';
import type { SpanField, TraceStore, TraceSummary } from '../../storage/trace-store.js';
import { ProtoWriter } from '../../ingest/protobuf/proto-writer.js';
import { SPAN_KIND_NAMES, type Span } from '../../model/span.js';
import { VERSION } from '../../version.js';
import { badData, notFound } from '../errors.js';
import { resourceSpansJson, tracesDataProto } from './otlp-trace-encoders.js';
import { durationParam, intParam, secondsParam, tagsCondition } from './search-params.js';
import { TraceQLError, parseTraceQL } from './traceql.js';

export interface TempoApiDeps {
  readonly traces: TraceStore;
  /** Log lines by trace id for /api/tracing/traces/:id/logs; the route is absent without it. */
  readonly logs?: Pick<LogStore, 'select'>;
  /** Clock in Unix ms (default time ranges). */
  readonly now?: () => number;
}

type Query = Record<string, string | undefined>;

const ROOT_NOT_RECEIVED = '<root span not yet received>';
/** The Tempo release whose HTTP API this follows (reported as `version` by buildinfo). */
const TEMPO_API_VERSION = '2.6.0';
const INTRINSIC_TAGS = ['duration', 'kind', 'name', 'status', 'statusMessage'];
/** Searches without a start cover everything stored; the limit bounds the answer. */
const MIN_NS = 0n;
const HOUR_NS = 3_600_000_000_000n;

/** A trace id from the path: up to 32 hex digits, left-padded with zeros as Tempo does. */
function traceIdParam(raw: string): string {
  if (!/^[0-9a-fA-F]{1,32}$/.test(raw)) throw badData(`invalid trace id ${JSON.stringify(raw)}: expected up to 32 hex digits`);
  return raw.toLowerCase().padStart(32, '0');
}

function wantsProtobuf(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/(x-)?protobuf/.test(accept);
}

/** A TraceQL (`span.key`, `resource.key`, `.key`, intrinsic) or v1 (unscoped) tag name as a field. */
function tagField(tag: string, scoped: boolean): SpanField {
  if (scoped) {
    if (INTRINSIC_TAGS.includes(tag)) return { kind: 'intrinsic', name: tag as Extract<SpanField, { kind: 'intrinsic' }>['name'] };
    if (tag.startsWith('span.')) return { kind: 'attribute', scope: 'span', key: tag.slice(5) };
    if (tag.startsWith('resource.')) return { kind: 'attribute', scope: 'resource', key: tag.slice(9) };
    if (tag.startsWith('.')) return { kind: 'attribute', scope: 'any', key: tag.slice(1) };
  }
  if (tag === '') throw badData('empty tag name');
  return { kind: 'attribute', scope: 'any', key: tag };
}

function searchTrace(s: TraceSummary): Record<string, unknown> {
  const spanSet = {
    spans: s.matched.map((m) => ({
      spanID: m.spanId,
      name: m.name,
      startTimeUnixNano: m.startNs.toString(),
      durationNanos: m.durationNs.toString(),
      attributes: [{ key: 'service.name', value: { stringValue: m.service } }],
    })),
    matched: s.matchedCount,
  };
  return {
    traceID: s.traceId,
    rootServiceName: s.hasRoot ? s.rootService : ROOT_NOT_RECEIVED,
    ...(s.hasRoot ? { rootTraceName: s.rootName } : {}),
    startTimeUnixNano: s.startNs.toString(),
    durationMs: Number(s.durationNs / 1_000_000n),
    spanSet,
    spanSets: [spanSet],
    serviceStats: Object.fromEntries(s.services.map((x) => [x.service, { spanCount: x.spanCount, errorCount: x.errorCount }])),
    spanCount: s.spanCount,
    errorCount: s.errorCount,
    requestIds: s.requestIds,
  };
}

function summaryJson(s: TraceSummary): Record<string, unknown> {
  return {
    traceID: s.traceId,
    rootServiceName: s.rootService,
    rootTraceName: s.rootName,
    rootReceived: s.hasRoot,
    startTimeUnixNano: s.startNs.toString(),
    durationMs: Number(s.durationNs) / 1e6,
    spanCount: s.spanCount,
    errorCount: s.errorCount,
    services: s.services,
    requestIds: s.requestIds,
  };
}

/** Registers the Tempo API routes (scope `read`). */
export function registerTempoApi(app: FastifyInstance, deps: TempoApiDeps): void {
  const nowNs = (): bigint => BigInt(Math.floor((deps.now ?? Date.now)())) * 1_000_000n;
  const range = (q: Query): { startNs: bigint; endNs: bigint } => {
    const startNs = secondsParam('start', q.start, MIN_NS);
    // Tempo's end is inclusive to the second; spans may also start slightly in the future (clock skew).
    const endNs = q.end === undefined || q.end === '' ? nowNs() + HOUR_NS : secondsParam('end', q.end, 0n) + 1_000_000_000n;
    if (endNs <= startNs) throw badData('end must be after start');
    return { startNs, endNs };
  };

  const traceById = async (req: FastifyRequest<{ Params: { traceId: string } }>, reply: FastifyReply, v2: boolean): Promise<unknown> => {
    const traceId = traceIdParam(req.params.traceId);
    const spans: Span[] = await deps.traces.trace(traceId);
    if (spans.length === 0) throw notFound(`trace ${traceId} not found`);
    if (wantsProtobuf(req)) {
      const trace = tracesDataProto(spans);
      // v2 answers TraceByIDResponse { Trace trace = 1; … }.
      const body = v2 ? new ProtoWriter().bytes(1, trace).finish() : trace;
      return reply.type('application/protobuf').send(body);
    }
    const resourceSpans = resourceSpansJson(spans);
    return v2 ? { trace: { resourceSpans } } : { batches: resourceSpans };
  };

  app.get('/api/echo', { config: { scope: 'read' } }, async (_req, reply) => reply.type('text/plain').send('echo'));
  // Grafana reads Tempo's version to decide which endpoints (v2 trace by id, v2 tags) it may use.
  app.get('/api/status/buildinfo', { config: { scope: 'read' } }, async () => ({
    version: TEMPO_API_VERSION,
    revision: '',
    branch: '',
    buildDate: '',
    buildUser: '',
    goVersion: '',
    watchkeeperVersion: VERSION,
  }));

  app.get<{ Params: { traceId: string } }>('/api/traces/:traceId', { config: { scope: 'read' } }, (req, reply) => traceById(req, reply, false));
  app.get<{ Params: { traceId: string } }>('/api/v2/traces/:traceId', { config: { scope: 'read' } }, (req, reply) => traceById(req, reply, true));

  app.get<{ Querystring: Query }>('/api/search', { config: { scope: 'read' } }, async (req) => {
    const q = req.query;
    const { startNs, endNs } = range(q);
    const limit = intParam('limit', q.limit, 20, 10_000);
    let summaries: TraceSummary[];
    if (q.requestId !== undefined && q.requestId !== '') {
      summaries = await deps.traces.summaries(await deps.traces.traceIdsByRequestId(q.requestId, startNs, endNs, limit));
    } else {
      if (q.q !== undefined && q.q !== '' && q.tags !== undefined && q.tags !== '') throw badData('give either q (TraceQL) or tags, not both');
      let condition;
      try {
        condition = q.q !== undefined && q.q !== '' ? parseTraceQL(q.q) : q.tags !== undefined ? tagsCondition(q.tags) : null;
      } catch (err) {
        if (err instanceof TraceQLError) throw badData(`invalid TraceQL query: ${err.message}`);
        throw err;
      }
      const minDurationNs = durationParam('minDuration', q.minDuration);
      const maxDurationNs = durationParam('maxDuration', q.maxDuration);
      summaries = await deps.traces.search({
        startNs,
        endNs,
        condition,
        limit,
        spansPerTrace: intParam('spss', q.spss, 3, 1000),
        ...(minDurationNs !== undefined ? { minDurationNs } : {}),
        ...(maxDurationNs !== undefined ? { maxDurationNs } : {}),
      });
    }
    return { traces: summaries.map(searchTrace), metrics: { inspectedTraces: summaries.length, completedJobs: 1, totalJobs: 1 } };
  });

  app.get<{ Querystring: Query }>('/api/search/tags', { config: { scope: 'read' } }, async (req) => {
    const { startNs, endNs } = range(req.query);
    const names = await deps.traces.tagNames(startNs, endNs);
    return { tagNames: [...new Set([...names.span, ...names.resource])].sort() };
  });

  app.get<{ Querystring: Query }>('/api/v2/search/tags', { config: { scope: 'read' } }, async (req) => {
    const { startNs, endNs } = range(req.query);
    const names = await deps.traces.tagNames(startNs, endNs);
    const scopes = [
      { name: 'resource', tags: names.resource },
      { name: 'span', tags: names.span },
      { name: 'intrinsic', tags: INTRINSIC_TAGS },
    ];
    const wanted = req.query.scope;
    // Other scope values ("all", "none", absent) list every scope.
    return { scopes: scopes.some((s) => s.name === wanted) ? scopes.filter((s) => s.name === wanted) : scopes };
  });

  app.get<{ Params: { tag: string }; Querystring: Query }>('/api/search/tag/:tag/values', { config: { scope: 'read' } }, async (req) => {
    const { startNs, endNs } = range(req.query);
    const values = await deps.traces.tagValues(tagField(req.params.tag, false), startNs, endNs, intParam('limit', req.query.limit, 1000, 10_000));
    return { tagValues: values };
  });

  app.get<{ Params: { tag: string }; Querystring: Query }>('/api/v2/search/tag/:tag/values', { config: { scope: 'read' } }, async (req) => {
    const { startNs, endNs } = range(req.query);
    const field = tagField(req.params.tag, true);
    const values = await deps.traces.tagValues(field, startNs, endNs, intParam('limit', req.query.limit, 1000, 10_000));
    if (field.kind === 'intrinsic' && field.name === 'status') {
      return { tagValues: values.map((v) => ({ type: 'keyword', value: ['unset', 'ok', 'error'][Number(v)] ?? v })) };
    }
    if (field.kind === 'intrinsic' && field.name === 'kind') {
      return { tagValues: values.map((v) => ({ type: 'keyword', value: ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][Number(v)] ?? v })) };
    }
    return { tagValues: values.map((v) => ({ type: 'string', value: v })) };
  });

  app.get<{ Querystring: Query }>('/api/tracing/services', { config: { scope: 'read' } }, async (req) => {
    const { startNs, endNs } = range(req.query);
    const services = await deps.traces.services(startNs, endNs);
    return {
      services: services.map((s) => ({
        service: s.service,
        operations: s.operations.map((o) => ({ name: o.name, kind: SPAN_KIND_NAMES[o.kind] ?? SPAN_KIND_NAMES[0], spanCount: o.spanCount })),
      })),
    };
  });

  app.get<{ Params: { traceId: string } }>('/api/tracing/traces/:traceId/summary', { config: { scope: 'read' } }, async (req) => {
    const traceId = traceIdParam(req.params.traceId);
    const [summary] = await deps.traces.summaries([traceId]);
    if (summary === undefined) throw notFound(`trace ${traceId} not found`);
    return summaryJson(summary);
  });

  const logs = deps.logs;
  if (logs !== undefined) {
    app.get<{ Params: { traceId: string }; Querystring: Query }>('/api/tracing/traces/:traceId/logs', { config: { scope: 'read' } }, async (req) => {
      const traceId = traceIdParam(req.params.traceId);
      const [summary] = await deps.traces.summaries([traceId]);
      // Lines of a trace are looked for around its spans (an hour either side), or everywhere for an unknown trace.
      const startNs = summary ? summary.startNs - HOUR_NS : MIN_NS;
      const endNs = summary ? summary.startNs + summary.durationNs + HOUR_NS : nowNs() + HOUR_NS;
      const lines = await logs.select({
        startNs,
        endNs,
        matchers: [],
        fields: { traceId },
        direction: 'forward',
        limit: intParam('limit', req.query.limit, 1000, 10_000),
      });
      return {
        traceID: traceId,
        lines: lines.map((l) => ({
          timeUnixNano: l.timeNs.toString(),
          service: l.service,
          level: l.level,
          body: l.body,
          spanID: l.spanId,
          requestID: l.requestId,
          attributes: l.attributes,
        })),
      };
    });
  }
}

