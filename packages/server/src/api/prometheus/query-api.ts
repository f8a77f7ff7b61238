/**
 * Prometheus's query endpoints: /api/v1/query, /api/v1/query_range, /api/v1/format_query,
 * /api/v1/parse_query and /api/v1/query_exemplars, with its parameters, limits and error types.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Engine, ParseError, QueryError, astToJson, formatExpr, parseExpr, type Expr, type QueryResult } from '../../promql/index.js';
import type { Queryable } from '../../storage/interfaces.js';
import { ApiError, badData } from '../errors.js';
import { parseDurationParam, parseTimeParam, requestParams } from './params.js';
import { queryResponseJson } from './query-json.js';

export interface QueryApiDeps {
  readonly engine: Engine;
  readonly queryable: Queryable;
  /** Default lookback delta, ms (the engine's own when absent). */
  readonly lookbackDeltaMs?: number;
}

/** Prometheus refuses range queries with more points per series than this. */
const MAX_POINTS = 11_000;

/** HTTP status per query error type, as Prometheus's API maps them. */
const STATUS: Record<QueryError['type'], number> = { bad_data: 400, execution: 422, timeout: 503, canceled: 499, internal: 500 };

function toApiError(err: unknown): unknown {
  if (!(err instanceof QueryError)) return err;
  const message = err.type === 'bad_data' ? `invalid parameter "query": ${err.message}` : err.message;
  return new ApiError(STATUS[err.type], err.type, message);
}

/** A parameter's value; absent reads as "" so the parse error names it, as in Prometheus. */
function param(params: URLSearchParams, name: string): string {
  return params.get(name) ?? '';
}

function parseQueryParam(params: URLSearchParams): Expr {
  try {
    return parseExpr(param(params, 'query'));
  } catch (err) {
    if (err instanceof ParseError) throw badData(`invalid parameter "query": ${err.message}`);
    throw err;
  }
}

function queryOptions(params: URLSearchParams, deps: QueryApiDeps): { timeoutMs?: number; lookbackDeltaMs?: number } {
  const out: { timeoutMs?: number; lookbackDeltaMs?: number } = {};
  const timeout = params.get('timeout');
  if (timeout) out.timeoutMs = parseDurationParam(timeout, 'timeout');
  const lookback = params.get('lookback_delta');
  if (lookback) out.lookbackDeltaMs = parseDurationParam(lookback, 'lookback_delta');
  else if (deps.lookbackDeltaMs !== undefined) out.lookbackDeltaMs = deps.lookbackDeltaMs;
  return out;
}

function send(reply: FastifyReply, result: QueryResult): FastifyReply {
  return reply.type('application/json').send(queryResponseJson(result));
}

/** Registers the query endpoints (scope `read`) on the server. */
export function registerQueryApi(app: FastifyInstance, deps: QueryApiDeps): void {
  const read = { config: { scope: 'read' as const } };

  const instant = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = requestParams(req);
    const query = param(params, 'query');
    const t = params.get('time');
    const time = t === null || t === '' ? Date.now() : parseTimeParam(t, 'time');
    const options = queryOptions(params, deps);
    try {
      return send(reply, await deps.engine.instantQuery(deps.queryable, query, time, options));
    } catch (err) {
      throw toApiError(err);
    }
  };

  const range = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = requestParams(req);
    const query = param(params, 'query');
    const start = parseTimeParam(param(params, 'start'), 'start');
    const end = parseTimeParam(param(params, 'end'), 'end');
    if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
    const step = parseDurationParam(param(params, 'step'), 'step');
    if (step <= 0) throw badData('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((end - start) / step > MAX_POINTS) {
      throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    const options = queryOptions(params, deps);
    try {
      return send(reply, await deps.engine.rangeQuery(deps.queryable, query, start, end, step, options));
    } catch (err) {
      throw toApiError(err);
    }
  };

  const format = async (req: FastifyRequest) => ({ status: 'success', data: formatExpr(parseQueryParam(requestParams(req))) });
  const parse = async (req: FastifyRequest) => ({ status: 'success', data: astToJson(parseQueryParam(requestParams(req))) });
  const exemplars = async (req: FastifyRequest) => {
    parseQueryParam(requestParams(req));
    return { status: 'success', data: [] };
  };

  for (const [path, handler] of [
    ['/api/v1/query', instant],
    ['/api/v1/query_range', range],
    ['/api/v1/format_query', format],
    ['/api/v1/parse_query', parse],
    ['/api/v1/query_exemplars', exemplars],
  ] as const) {
    app.get(path, read, handler);
    app.post(path, read, handler);
  }
}
