/**
 * Prometheus's metadata endpoints, byte-compatible with its JSON: series, label names, label
 * values, metric metadata, build info and TSDB status. Grafana's Prometheus data source uses them
 * for its metric browser and autocompletion.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compareLabels, labelsKey, labelsToRecord, type Labels } from '../../model/labels.js';
import type { Matcher } from '../../model/matchers.js';
import type { MetadataSource, MetricsStorage, Queryable } from '../../storage/interfaces.js';
import { badData } from '../errors.js';
import { MAX_TIME_MS, MIN_TIME_MS, optionalTime, parseLimit, parseMatchParams, requestParams } from './params.js';

export interface MetadataApiDeps {
  readonly queryable: Queryable;
  readonly metadata: MetadataSource;
  readonly status: Pick<MetricsStorage, 'status'>;
  readonly version: string;
}

/** The Prometheus release whose HTTP API and PromQL semantics Watchkeeper follows (Grafana reads it). */
export const PROMETHEUS_COMPATIBLE_VERSION = '3.0.0';

function success(data: unknown, warnings: string[] = []): Record<string, unknown> {
  return warnings.length > 0 ? { status: 'success', data, warnings } : { status: 'success', data };
}

function truncate<T>(items: T[], limit: number, warnings: string[]): T[] {
  if (limit > 0 && items.length > limit) {
    warnings.push('results truncated due to limit');
    return items.slice(0, limit);
  }
  return items;
}

function timeRange(params: URLSearchParams): { start: number; end: number } {
  const start = optionalTime(params, 'start', MIN_TIME_MS);
  const end = optionalTime(params, 'end', MAX_TIME_MS);
  if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
  return { start, end };
}

async function unionOfStrings(matchSets: Matcher[][], fetch: (m: Matcher[]) => Promise<string[]>): Promise<string[]> {
  if (matchSets.length === 0) return fetch([]);
  const all = new Set<string>();
  for (const m of matchSets) for (const v of await fetch(m)) all.add(v);
  return [...all].sort();
}

export function registerMetadataApi(app: FastifyInstance, deps: MetadataApiDeps): void {
  const read = { config: { scope: 'read' as const } };

  const series = async (req: FastifyRequest) => {
    const params = requestParams(req);
    const matches = params.getAll('match[]');
    if (matches.length === 0) throw badData('no match[] parameter provided');
    const matchSets = parseMatchParams(matches);
    const { start, end } = timeRange(params);
    const querier = deps.queryable.querier(start, end);
    const byKey = new Map<string, Labels>();
    for (const m of matchSets) for (const labels of await querier.series(m)) byKey.set(labelsKey(labels), labels);
    const warnings: string[] = [];
    const sorted = truncate([...byKey.values()].sort(compareLabels), parseLimit(params), warnings);
    return success(sorted.map(labelsToRecord), warnings);
  };
  app.get('/api/v1/series', read, series);
  app.post('/api/v1/series', read, series);

  const labelNames = async (req: FastifyRequest) => {
    const params = requestParams(req);
    const { start, end } = timeRange(params);
    const querier = deps.queryable.querier(start, end);
    const names = await unionOfStrings(parseMatchParams(params.getAll('match[]')), (m) => querier.labelNames(m));
    const warnings: string[] = [];
    return success(truncate(names, parseLimit(params), warnings), warnings);
  };
  app.get('/api/v1/labels', read, labelNames);
  app.post('/api/v1/labels', read, labelNames);

  app.get('/api/v1/label/:name/values', read, async (req: FastifyRequest<{ Params: { name: string } }>) => {
    let name = req.params.name;
    // Prometheus 3 accepts UTF-8 names escaped as U__ + underscores-encoded text.
    if (name.startsWith('U__')) name = unescapeUtf8Name(name);
    if (name === '') throw badData(`invalid label name: "${req.params.name}"`);
    const params = requestParams(req);
    const { start, end } = timeRange(params);
    const querier = deps.queryable.querier(start, end);
    const values = await unionOfStrings(parseMatchParams(params.getAll('match[]')), (m) => querier.labelValues(name, m));
    const warnings: string[] = [];
    return success(truncate(values, parseLimit(params), warnings), warnings);
  });

  app.get('/api/v1/metadata', read, async (req: FastifyRequest) => {
    const params = requestParams(req);
    const limit = parseLimit(params);
    const perMetricRaw = params.get('limit_per_metric');
    const perMetric = perMetricRaw ? Number(perMetricRaw) : 0;
    if (!Number.isInteger(perMetric) || perMetric < 0) throw badData(`invalid parameter "limit_per_metric": cannot parse "${perMetricRaw}"`);
    const metric = params.get('metric') || undefined;
    const data: Record<string, { type: string; help: string; unit: string }[]> = {};
    for (const [name, list] of deps.metadata.metadata(metric, limit > 0 ? limit : undefined)) {
      const shown = perMetric > 0 ? list.slice(0, perMetric) : list;
      data[name] = shown.map((m) => ({ type: m.type, help: m.help, unit: m.unit }));
    }
    return success(data);
  });

  app.get('/api/v1/status/buildinfo', read, async () =>
    success({
      version: PROMETHEUS_COMPATIBLE_VERSION,
      revision: '',
      branch: '',
      buildUser: '',
      buildDate: '',
      goVersion: '',
      application: 'watchkeeper',
      watchkeeperVersion: deps.version,
    }),
  );

  app.get('/api/v1/status/tsdb', read, async (req: FastifyRequest, _reply: FastifyReply) => {
    const params = requestParams(req);
    const raw = params.get('limit');
    const limit = raw === null || raw === '' ? 10 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw badData('limit must be a number and between 1 and 10000');
    const s = deps.status.status(limit);
    return success({
      headStats: {
        numSeries: s.numSeries,
        numLabelPairs: s.numLabelPairs,
        chunkCount: s.chunkCount,
        minTime: s.minTime,
        maxTime: s.maxTime,
      },
      seriesCountByMetricName: s.seriesCountByMetricName,
      labelValueCountByLabelName: s.labelValueCountByLabelName,
      memoryInBytesByLabelName: s.memoryInBytesByLabelName,
      seriesCountByLabelValuePair: s.seriesCountByLabelValuePair,
    });
  });
}

/** Reverses Prometheus's `U__` escaping: `_` stays, `__` is `_`, `_XX_` is the code point 0xXX. */
function unescapeUtf8Name(escaped: string): string {
  const body = escaped.slice(3);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '_') {
      out += c;
      continue;
    }
    if (body[i + 1] === '_') {
      out += '_';
      i++;
      continue;
    }
    const end = body.indexOf('_', i + 1);
    const code = end > i ? Number.parseInt(body.slice(i + 1, end), 16) : Number.NaN;
    if (!Number.isFinite(code)) return escaped;
    out += String.fromCodePoint(code);
    i = end;
  }
  return out;
}
