/** Query parameters of Loki's HTTP API: times, steps, limits, directions, from the query string or a form body. */
import type { FastifyRequest } from 'fastify';
import { parseDurationNs } from '../../logql/lexer.js';
import { badData } from '../errors.js';

/** The request's parameters: query string plus an `application/x-www-form-urlencoded` body (POST). */
export function requestParams(req: FastifyRequest): URLSearchParams {
  const params = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
  const body = req.body;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (req.method === 'POST' && type === 'application/x-www-form-urlencoded') {
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
    for (const [k, v] of new URLSearchParams(text)) params.append(k, v);
  }
  return params;
}

const INT_RE = /^-?\d+$/;
const FLOAT_RE = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * A Loki timestamp: integer nanoseconds (10 digits or fewer: seconds, as Loki reads them),
 * float seconds, or RFC 3339. `fallback` when the parameter is absent.
 */
export function parseLokiTime(params: URLSearchParams, name: string, fallback: bigint): bigint {
  const text = params.get(name);
  if (text === null || text === '') return fallback;
  if (INT_RE.test(text)) return text.replace('-', '').length <= 10 ? BigInt(text) * 1_000_000_000n : BigInt(text);
  if (FLOAT_RE.test(text)) return BigInt(Math.round(Number(text) * 1e6)) * 1000n;
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const ms = m ? Date.parse(`${m[1]!}${m[3]!}`) : NaN;
  if (!m || Number.isNaN(ms)) throw badData(`invalid ${name} ${JSON.stringify(text)}: expected Unix nanoseconds, seconds, or an RFC 3339 time`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

/** A duration parameter as `5m`/`1h` or float seconds; null when absent. */
export function parseLokiDuration(params: URLSearchParams, name: string): bigint | null {
  const text = params.get(name);
  if (text === null || text === '') return null;
  if (FLOAT_RE.test(text)) {
    const secs = Number(text);
    if (!(secs > 0)) throw badData(`invalid ${name} ${JSON.stringify(text)}: must be positive`);
    return BigInt(Math.round(secs * 1e9));
  }
  const ns = parseDurationNs(text);
  if (ns === null || ns <= 0n) throw badData(`invalid ${name} ${JSON.stringify(text)}: expected a duration like 15s or a number of seconds`);
  return ns;
}

/** Start and end of a range request: `end` defaults to now, `start` to end − `since` (default 1h). */
export function parseRange(params: URLSearchParams, nowNs: bigint): { startNs: bigint; endNs: bigint } {
  const endNs = parseLokiTime(params, 'end', nowNs);
  const since = parseLokiDuration(params, 'since') ?? 3_600_000_000_000n;
  const startNs = parseLokiTime(params, 'start', endNs - since);
  if (endNs < startNs) throw badData('end timestamp must not be before start time');
  return { startNs, endNs };
}

/** Loki's default step: the range divided into 250 points, in whole seconds, at least one. */
export function parseStep(params: URLSearchParams, startNs: bigint, endNs: bigint): bigint {
  const step = parseLokiDuration(params, 'step');
  if (step !== null) {
    if ((endNs - startNs) / step > 11_000n) throw badData('exceeded maximum resolution of 11,000 points per time series; increase step or shorten the range');
    return step;
  }
  const secs = (endNs - startNs) / 250_000_000_000n;
  return (secs < 1n ? 1n : secs) * 1_000_000_000n;
}

export function parseLimit(params: URLSearchParams, fallback: number, max: number): number {
  const text = params.get('limit');
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw badData(`invalid limit ${JSON.stringify(text)}: expected a positive integer`);
  if (n > max) throw badData(`limit ${n} is above the maximum of ${max}`);
  return n;
}

export function parseDirection(params: URLSearchParams): 'forward' | 'backward' {
  const d = (params.get('direction') ?? 'backward').toLowerCase();
  if (d !== 'forward' && d !== 'backward') throw badData(`invalid direction ${JSON.stringify(d)}: expected forward or backward`);
  return d;
}

/** The required `query` parameter. */
export function requireQuery(params: URLSearchParams): string {
  const q = params.get('query');
  if (q === null || q.trim() === '') throw badData('missing query parameter "query"');
  return q;
}
