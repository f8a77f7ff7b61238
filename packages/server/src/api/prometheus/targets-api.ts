/**
 * Prometheus's target APIs: GET /api/v1/targets (active and dropped targets with health) and
 * GET /api/v1/targets/metadata (metric metadata scraped from targets), byte-compatible JSON.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { formatDuration } from '../../config/duration.js';
import { labelsToRecord } from '../../model/labels.js';
import { compileMatcher, matchesAll, type CompiledMatcher, type MatchType } from '../../model/matchers.js';
import type { ScrapeManager, Target } from '../../scrape/index.js';
import { badData, notFound } from '../errors.js';

export interface TargetsApiDeps {
  readonly scrapeManager: ScrapeManager;
}

/** Go's zero time.Time, which Prometheus prints for a target not scraped yet. */
const NEVER = '0001-01-01T00:00:00Z';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The scrape URL as seen from elsewhere: a loopback host is replaced by this machine's name, as Prometheus does. */
function globalUrl(scrapeUrl: string): string {
  const url = new URL(scrapeUrl);
  if (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.')) url.hostname = hostname();
  return url.toString();
}

function activeTargetJson(scrapePool: string, target: Target) {
  return {
    discoveredLabels: labelsToRecord(target.discoveredLabels),
    labels: labelsToRecord(target.labels),
    scrapePool,
    scrapeUrl: target.url,
    globalUrl: globalUrl(target.url),
    lastError: target.lastError,
    lastScrape: target.lastScrapeMs === 0 ? NEVER : new Date(target.lastScrapeMs).toISOString(),
    lastScrapeDuration: target.lastScrapeDurationMs / 1000,
    health: target.health,
    scrapeInterval: formatDuration(target.intervalMs),
    scrapeTimeout: formatDuration(target.timeoutMs),
  };
}

function queryString(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

const SELECTOR_ITEM_RE = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/;

/** Parses a label selector such as `{job="node", instance=~"a.*"}` (match_target). */
export function parseTargetSelector(text: string): CompiledMatcher[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) throw badData(`invalid match_target ${JSON.stringify(text)}: expected a label selector like {job="node"}`);
  let rest = trimmed.slice(1, -1);
  const matchers: CompiledMatcher[] = [];
  while (rest.trim() !== '') {
    const m = SELECTOR_ITEM_RE.exec(rest);
    if (!m) throw badData(`invalid match_target ${JSON.stringify(text)}: cannot parse ${JSON.stringify(rest.trim())}`);
    let value: string;
    try {
      value = JSON.parse(`"${m[3]!}"`) as string;
    } catch {
      throw badData(`invalid match_target ${JSON.stringify(text)}: bad escape in ${JSON.stringify(m[3])}`);
    }
    try {
      matchers.push(compileMatcher({ name: m[1]!, type: m[2] as MatchType, value }));
    } catch (err) {
      throw badData(`invalid match_target: ${(err as Error).message}`);
    }
    rest = rest.slice(m[0].length);
  }
  return matchers;
}

/** Registers GET /api/v1/targets and GET /api/v1/targets/metadata (scope `read`). */
export function registerTargetsApi(app: FastifyInstance, deps: TargetsApiDeps): void {
  app.get('/api/v1/targets', { config: { scope: 'read' } }, async (req) => {
    const state = (queryString(req.query, 'state') ?? '').toLowerCase();
    const pool = queryString(req.query, 'scrapePool');
    const showActive = state === '' || state === 'any' || state === 'active';
    const showDropped = state === '' || state === 'any' || state === 'dropped';
    const { active, dropped } = deps.scrapeManager.targets();
    const inPool = (p: string) => pool === undefined || pool === '' || p === pool;
    return {
      status: 'success',
      data: {
        activeTargets: showActive ? active.filter((a) => inPool(a.scrapePool)).map((a) => activeTargetJson(a.scrapePool, a.target)) : [],
        droppedTargets: showDropped ? dropped.filter((d) => inPool(d.scrapePool)).map((d) => ({ discoveredLabels: labelsToRecord(d.discoveredLabels) })) : [],
      },
    };
  });

  app.get('/api/v1/targets/metadata', { config: { scope: 'read' } }, async (req) => {
    const limitText = queryString(req.query, 'limit');
    const limit = limitText === undefined || limitText === '' ? -1 : Number(limitText);
    if (!Number.isInteger(limit)) throw badData(`invalid limit ${JSON.stringify(limitText)}: expected an integer`);
    const metric = queryString(req.query, 'metric') ?? '';
    const selector = queryString(req.query, 'match_target');
    const matchers = selector === undefined || selector === '' ? [] : parseTargetSelector(selector);
    const out: { target: Record<string, string>; metric?: string; type: string; help: string; unit: string }[] = [];
    for (const { target, metadata } of deps.scrapeManager.targetMetadata()) {
      if (limit >= 0 && out.length >= limit) break;
      if (!matchesAll(matchers, target.labels)) continue;
      const targetLabels = labelsToRecord(target.labels);
      for (const [name, m] of metadata) {
        if (limit >= 0 && out.length >= limit) break;
        if (metric !== '' && name !== metric) continue;
        // As in Prometheus, `metric` is omitted when the request named one.
        out.push(metric === '' ? { target: targetLabels, metric: name, type: m.type, help: m.help, unit: m.unit } : { target: targetLabels, type: m.type, help: m.help, unit: m.unit });
      }
    }
    if (out.length === 0) throw notFound('specified metadata not found');
    return { status: 'success', data: out };
  });
}
