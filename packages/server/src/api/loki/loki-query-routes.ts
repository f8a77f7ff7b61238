/**
 * Loki's query API (`/loki/api/v1/...`) with Loki's response shapes, so Grafana's Loki data
 * source works against Watchkeeper; plus Watchkeeper's own log endpoints for the UI: full records
 * with their ids, a volume histogram, and the lines around a line.
 */
import type { FastifyInstance } from 'fastify';
import type { LogSelectorExpr, MetricExpr, RangeAggregationExpr } from '../../logql/ast.js';
import { LogQLLimitError, LogQLParseError, UnsupportedLogQLError } from '../../logql/errors.js';
import { LogQLEvaluator, type LogQLLimits } from '../../logql/evaluator.js';
import { parseLogQL, parseStreamSelector } from '../../logql/parser.js';
import { labelsToRecord, onlyLabels, labelsKey, type Labels } from '../../model/labels.js';
import type { StoredLogRecord } from '../../model/log-record.js';
import type { Matcher } from '../../model/matchers.js';
import type { LogStore } from '../../storage/log-store.js';
import { badData, notFound } from '../errors.js';
import { parseDirection, parseLimit, parseLokiTime, parseRange, parseStep, requestParams, requireQuery } from './loki-params.js';
import { matrixJson, streamsJson, vectorJson } from './loki-responses.js';

export interface LokiQueryRouteOptions {
  readonly logs: LogStore;
  readonly limits?: LogQLLimits;
  /** Largest `limit` a log query may ask for. Default 5000 (Loki's max_entries_limit_per_query). */
  readonly maxEntries?: number;
  /** Clock, Unix ms (default times). */
  readonly now?: () => number;
}

/** Turns LogQL errors into 400 answers that carry their message. */
function queryError(err: unknown): unknown {
  if (err instanceof LogQLParseError || err instanceof UnsupportedLogQLError || err instanceof LogQLLimitError) return badData(err.message);
  return err;
}

function parseQuery(text: string): ReturnType<typeof parseLogQL> {
  try {
    return parseLogQL(text);
  } catch (err) {
    throw queryError(err);
  }
}

function parseSelector(text: string): Matcher[] {
  try {
    return parseStreamSelector(text);
  } catch (err) {
    throw queryError(err);
  }
}

/** Registers the Loki query endpoints and Watchkeeper's log endpoints (scope `read`). */
export function registerLokiQueryRoutes(app: FastifyInstance, opts: LokiQueryRouteOptions): void {
  const evaluator = new LogQLEvaluator(opts.logs, opts.limits);
  const maxEntries = opts.maxEntries ?? 5000;
  const nowNs = (): bigint => BigInt(Math.floor((opts.now ?? Date.now)())) * 1_000_000n;
  const read = { config: { scope: 'read' as const } };

  const queryRange = async (params: URLSearchParams) => {
    const expr = parseQuery(requireQuery(params));
    const { startNs, endNs } = parseRange(params, nowNs());
    try {
      if (expr.type === 'log') {
        const limit = parseLimit(params, 100, maxEntries);
        const streams = await evaluator.selectLogs(expr, { startNs, endNs, limit, direction: parseDirection(params) });
        return { status: 'success', data: { resultType: 'streams', result: streamsJson(streams) } };
      }
      const stepNs = parseStep(params, startNs, endNs);
      const matrix = await evaluator.evalMetric(expr, { startNs, endNs, stepNs });
      return { status: 'success', data: { resultType: 'matrix', result: matrixJson(matrix) } };
    } catch (err) {
      throw queryError(err);
    }
  };

  const queryInstant = async (params: URLSearchParams) => {
    const expr = parseQuery(requireQuery(params));
    if (expr.type === 'log') throw badData('log queries are not supported as an instant query type; use query_range');
    const timeNs = parseLokiTime(params, 'time', nowNs());
    try {
      const matrix = await evaluator.evalMetric(expr, { startNs: timeNs, endNs: timeNs, stepNs: 0n });
      return { status: 'success', data: { resultType: 'vector', result: vectorJson(matrix) } };
    } catch (err) {
      throw queryError(err);
    }
  };

  for (const method of ['GET', 'POST'] as const) {
    app.route({ method, url: '/loki/api/v1/query_range', ...read, handler: (req) => queryRange(requestParams(req)) });
    app.route({ method, url: '/loki/api/v1/query', ...read, handler: (req) => queryInstant(requestParams(req)) });
    app.route({
      method,
      url: '/loki/api/v1/series',
      ...read,
      handler: async (req) => {
        const params = requestParams(req);
        const { startNs, endNs } = parseRange(params, nowNs());
        const selectors = [...params.getAll('match[]'), ...params.getAll('match')];
        const seen = new Map<string, Labels>();
        for (const matchers of selectors.length > 0 ? selectors.map(parseSelector) : [[]]) {
          for (const labels of await opts.logs.series({ startNs, endNs, matchers })) seen.set(labelsKey(labels), labels);
        }
        return { status: 'success', data: [...seen.values()].map(labelsToRecord) };
      },
    });
  }

  app.get('/loki/api/v1/labels', read, async (req) => {
    const { startNs, endNs } = parseRange(requestParams(req), nowNs());
    return { status: 'success', data: await opts.logs.labelNames(startNs, endNs) };
  });

  app.get('/loki/api/v1/label/:name/values', read, async (req) => {
    const params = requestParams(req);
    const { name } = req.params as { name: string };
    const { startNs, endNs } = parseRange(params, nowNs());
    const query = params.get('query');
    const matchers = query ? parseSelector(query) : [];
    return { status: 'success', data: await opts.logs.labelValues(name, startNs, endNs, matchers) };
  });

  app.get('/loki/api/v1/index/stats', read, async (req) => {
    const params = requestParams(req);
    const { startNs, endNs } = parseRange(params, nowNs());
    const cells = await opts.logs.countBuckets({ originNs: startNs, widthNs: endNs - startNs || 1n, bucketCount: 1, matchers: parseSelector(requireQuery(params)), bytes: true });
    return {
      streams: cells.streams.length,
      chunks: 0,
      entries: cells.count.reduce((a, b) => a + b, 0),
      bytes: cells.bytes.reduce((a, b) => a + b, 0),
    };
  });

  const volume = async (params: URLSearchParams, range: boolean) => {
    const matchers = parseSelector(requireQuery(params));
    const { startNs, endNs } = parseRange(params, nowNs());
    const limit = parseLimit(params, 100, 10_000);
    const targets = (params.get('targetLabels') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const groupBy = new Set(targets.length > 0 ? targets : matchers.map((m) => m.name));
    const widthNs = range ? parseStep(params, startNs, endNs) : endNs - startNs || 1n;
    const bucketCount = Number((endNs - startNs + widthNs - 1n) / widthNs) || 1;
    const cells = await opts.logs.countBuckets({ originNs: startNs, widthNs, bucketCount, matchers, bytes: true });
    const groups = new Map<string, { labels: Labels; bytes: Float64Array; total: number }>();
    for (let i = 0; i < cells.bucket.length; i++) {
      const labels = onlyLabels(cells.streams[cells.streamIndex[i]!]!, groupBy);
      const key = labelsKey(labels);
      let g = groups.get(key);
      if (!g) {
        g = { labels, bytes: new Float64Array(bucketCount), total: 0 };
        groups.set(key, g);
      }
      g.bytes[cells.bucket[i]! - 1] = (g.bytes[cells.bucket[i]! - 1] ?? 0) + cells.bytes[i]!;
      g.total += cells.bytes[i]!;
    }
    const top = [...groups.values()].sort((a, b) => b.total - a.total).slice(0, limit);
    const endSec = Number(endNs) / 1e9;
    if (!range) return { status: 'success', data: { resultType: 'vector', result: top.map((g) => ({ metric: labelsToRecord(g.labels), value: [endSec, String(g.total)] })) } };
    return {
      status: 'success',
      data: {
        resultType: 'matrix',
        result: top.map((g) => ({
          metric: labelsToRecord(g.labels),
          values: Array.from(g.bytes, (b, i) => [Number(startNs + BigInt(i + 1) * widthNs) / 1e9, String(b)] as [number, string]).filter(([, b]) => b !== '0'),
        })),
      },
    };
  };
  app.get('/loki/api/v1/index/volume', read, (req) => volume(requestParams(req), false));
  app.get('/loki/api/v1/index/volume_range', read, (req) => volume(requestParams(req), true));

  app.get('/api/v1/logs', read, async (req) => {
    const params = requestParams(req);
    const expr = parseQuery(requireQuery(params));
    if (expr.type !== 'log') throw badData('expected a log query (a stream selector with an optional pipeline), not a metric query');
    const { startNs, endNs } = parseRange(params, nowNs());
    try {
      const streams = await evaluator.selectLogs(expr, { startNs, endNs, limit: parseLimit(params, 100, maxEntries), direction: parseDirection(params) });
      const entries = streams.flatMap((s) => s.entries.map((e) => recordJson(e.record, e.line, s.labels)));
      entries.sort((a, b) => {
        const d = BigInt(a.time) - BigInt(b.time);
        return d === 0n ? 0 : d < 0n ? -1 : 1;
      });
      if (parseDirection(params) === 'backward') entries.reverse();
      return { status: 'success', data: { entries } };
    } catch (err) {
      throw queryError(err);
    }
  });

  app.get('/api/v1/logs/histogram', read, async (req) => {
    const params = requestParams(req);
    const expr = parseQuery(requireQuery(params));
    if (expr.type !== 'log') throw badData('expected a log query (a stream selector with an optional pipeline), not a metric query');
    const { startNs, endNs } = parseRange(params, nowNs());
    const stepNs = parseStep(params, startNs, endNs);
    const counts: MetricExpr = {
      type: 'aggregate',
      op: 'sum',
      param: null,
      grouping: { without: false, labels: ['level'] },
      expr: { type: 'range', fn: 'count_over_time', selector: expr satisfies LogSelectorExpr, rangeNs: stepNs, offsetNs: 0n } satisfies RangeAggregationExpr,
    };
    try {
      const matrix = await evaluator.evalMetric(counts, { startNs: startNs + stepNs, endNs, stepNs });
      return { status: 'success', data: { resultType: 'matrix', result: matrixJson(matrix) } };
    } catch (err) {
      throw queryError(err);
    }
  });

  app.get('/api/v1/logs/context', read, async (req) => {
    const params = requestParams(req);
    const seqText = params.get('seq') ?? '';
    if (!/^\d{1,19}$/.test(seqText)) throw badData('missing or invalid "seq": expected the sequence number of a line (from /api/v1/logs)');
    const count = (name: string): number => {
      const v = Number(params.get(name) ?? '10');
      if (!Number.isInteger(v) || v < 0 || v > 1000) throw badData(`invalid ${name}: expected an integer from 0 to 1000`);
      return v;
    };
    const ctx = await opts.logs.context(BigInt(seqText), count('before'), count('after'));
    if (ctx.line === null) throw notFound(`no log line with seq ${seqText}`);
    const json = (r: StoredLogRecord) => recordJson(r, r.body, r.stream);
    return { status: 'success', data: { before: ctx.before.map(json), line: json(ctx.line), after: ctx.after.map(json) } };
  });

}

/** A full log record for Watchkeeper's own API (ids as strings, so nothing loses precision). */
function recordJson(r: StoredLogRecord, line: string, labels: Labels) {
  return {
    seq: String(r.seq),
    time: String(r.timeNs),
    observed_time: String(r.observedNs),
    labels: labelsToRecord(labels),
    service: r.service,
    level: r.level,
    severity_text: r.severityText,
    severity_number: r.severity,
    line,
    trace_id: r.traceId,
    span_id: r.spanId,
    request_id: r.requestId,
    attributes: r.attributes,
    resource: r.resource,
  };
}
