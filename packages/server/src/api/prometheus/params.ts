/**
 * Request parameters of Prometheus's HTTP API, shared by the query and metadata endpoints: times
 * (RFC 3339 or Unix seconds), durations, `match[]` series selectors, and GET/POST merging.
 */
import type { FastifyRequest } from 'fastify';
import { parseDuration } from '../../config/duration.js';
import type { Matcher } from '../../model/matchers.js';
import { parseExpr } from '../../promql/parser.js';
import { badData } from '../errors.js';

/** Prometheus's API bounds for "no start/end given" (its MinTime/MaxTime, in ms). */
export const MIN_TIME_MS = -9_223_372_036_854_776;
export const MAX_TIME_MS = 9_223_372_036_854_775;

/** Query-string and form-body parameters together, as Prometheus reads them (`r.Form`). */
export function requestParams(req: FastifyRequest): URLSearchParams {
  const out = new URLSearchParams();
  const q = req.query as Record<string, string | string[] | undefined>;
  for (const [k, v] of Object.entries(q)) {
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else if (v !== undefined) out.append(k, v);
  }
  if (req.body instanceof URLSearchParams) for (const [k, v] of req.body) out.append(k, v);
  return out;
}

/** Parses a time parameter: Unix seconds (float) or RFC 3339. Returns ms. */
export function parseTimeParam(value: string, name: string): number {
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) {
    const ms = Math.round(Number(value) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  const ms = Date.parse(value);
  if (Number.isFinite(ms) && /^\d{4}-\d{2}-\d{2}T/.test(value)) return ms;
  throw badData(`invalid parameter "${name}": cannot parse "${value}" to a valid timestamp`);
}

export function optionalTime(params: URLSearchParams, name: string, fallback: number): number {
  const v = params.get(name);
  return v === null || v === '' ? fallback : parseTimeParam(v, name);
}

/** Parses a duration parameter: a Prometheus duration (`15s`) or float seconds. Returns ms. */
export function parseDurationParam(value: string, name: string): number {
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) {
    const ms = Math.round(Number(value) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  const ms = parseDuration(value);
  if (ms === null) throw badData(`invalid parameter "${name}": cannot parse "${value}" to a valid duration`);
  return ms;
}

/** Parses `limit` (0 or absent = no limit). */
export function parseLimit(params: URLSearchParams): number {
  const v = params.get('limit');
  if (v === null || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw badData(`invalid parameter "limit": cannot parse "${v}" to a non-negative integer`);
  return n;
}

/** Parses each `match[]` series selector into matchers; at least one matcher must not match "". */
export function parseMatchParams(values: readonly string[]): Matcher[][] {
  return values.map((text) => {
    let expr;
    try {
      expr = parseExpr(text);
    } catch (err) {
      throw badData((err as Error).message);
    }
    if (expr.type !== 'vector') throw badData(`invalid parameter "match[]": expected a series selector, got ${JSON.stringify(text)}`);
    return [...expr.matchers];
  });
}
