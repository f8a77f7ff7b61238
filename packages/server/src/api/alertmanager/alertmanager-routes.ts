/**
 * Alertmanager API v2 (the JSON shapes of Alertmanager's OpenAPI document), so a real Prometheus can
 * use Watchkeeper as its Alertmanager and amtool-style clients can list alerts and manage silences.
 */
import type { FastifyInstance } from 'fastify';
import { parseAmMatchers } from '../../alerting/am-matchers.js';
import type { PostableAlert } from '../../alerting/alert.js';
import type { AlertManagerService, AlertView } from '../../alerting/alertmanager-service.js';
import { SilenceError, silenceState, type Silence, type SilenceMatcher } from '../../alerting/silences.js';
import { labelsFromRecord, labelsToRecord } from '../../model/labels.js';
import { compileAnchoredRegex, matchesAll, type CompiledMatcher } from '../../model/matchers.js';
import { ApiError, badData, notFound } from '../errors.js';

export interface AlertmanagerApiDeps {
  readonly service: AlertManagerService;
  readonly version: string;
}

type Query = Record<string, string | string[] | undefined>;

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function boolParam(q: Query, name: string): boolean {
  const v = list(q[name])[0];
  if (v === undefined) return true;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw badData(`${name}: expected true or false, got ${JSON.stringify(v)}`);
}

function filterMatchers(q: Query): CompiledMatcher[] {
  try {
    return list(q.filter).flatMap((f) => parseAmMatchers(f));
  } catch (err) {
    throw badData(`filter: ${(err as Error).message}`);
  }
}

function receiverRegex(q: Query): RegExp | null {
  const r = list(q.receiver)[0];
  if (r === undefined || r === '') return null;
  try {
    return compileAnchoredRegex(r);
  } catch (err) {
    throw badData(`receiver: ${(err as Error).message}`);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function gettableAlert(v: AlertView): Record<string, unknown> {
  const a = v.alert;
  return {
    annotations: { ...a.annotations },
    endsAt: iso(a.endsAt),
    fingerprint: a.fingerprint,
    receivers: v.receivers.map((name) => ({ name })),
    startsAt: iso(a.startsAt),
    status: { inhibitedBy: [...v.inhibitedBy], silencedBy: [...v.silencedBy], state: v.state },
    updatedAt: iso(a.updatedAt),
    ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
    labels: labelsToRecord(a.labels),
  };
}

function alertFilter(q: Query, now: number): (v: AlertView) => boolean {
  const matchers = filterMatchers(q);
  const receiver = receiverRegex(q);
  const active = boolParam(q, 'active');
  const silenced = boolParam(q, 'silenced');
  const inhibited = boolParam(q, 'inhibited');
  // Validated only: alerts are processed on arrival here, so none is ever "unprocessed".
  boolParam(q, 'unprocessed');
  return (v) => {
    if (v.alert.endsAt <= now) return false;
    if (receiver && !v.receivers.some((r) => receiver.test(r))) return false;
    if (!matchesAll(matchers, v.alert.labels)) return false;
    if (!active && v.state === 'active') return false;
    if (!silenced && v.silencedBy.length > 0) return false;
    if (!inhibited && v.inhibitedBy.length > 0) return false;
    return true;
  };
}

function gettableSilence(s: Silence, now: number): Record<string, unknown> {
  return {
    id: s.id,
    status: { state: silenceState(s, now) },
    updatedAt: iso(s.updatedAt),
    comment: s.comment,
    createdBy: s.createdBy,
    endsAt: iso(s.endsAt),
    matchers: s.matchers.map((m) => ({ isEqual: m.isEqual, isRegex: m.isRegex, name: m.name, value: m.value })),
    startsAt: iso(s.startsAt),
  };
}

const STATE_ORDER = { active: 0, pending: 1, expired: 2 } as const;

/** Alertmanager's silence order: active by end, pending by start, expired by end (latest first). */
function compareSilences(a: Silence, b: Silence, now: number): number {
  const sa = silenceState(a, now);
  const sb = silenceState(b, now);
  if (sa !== sb) return STATE_ORDER[sa] - STATE_ORDER[sb];
  if (sa === 'active') return a.endsAt - b.endsAt;
  if (sa === 'pending') return a.startsAt - b.startsAt;
  return b.endsAt - a.endsAt;
}

function parseTime(v: unknown, field: string, where: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw badData(`${where}.${field}: expected an RFC 3339 date-time string`);
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(ms)) throw badData(`${where}.${field}: ${JSON.stringify(v)} is not an RFC 3339 date-time`);
  // Go's zero time means "not set".
  return ms <= Date.parse('0001-01-01T00:00:00Z') ? undefined : ms;
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badData(`${where}: expected an object of strings`);
  for (const [k, val] of Object.entries(v)) if (typeof val !== 'string') throw badData(`${where}.${k}: expected a string`);
  return v as Record<string, string>;
}

/** Decodes the POST /api/v2/alerts body (postableAlerts). */
export function decodePostableAlerts(body: unknown): PostableAlert[] {
  if (Buffer.isBuffer(body)) throw new ApiError(415, 'unsupported_media_type', 'expected a JSON body (Content-Type: application/json)');
  if (!Array.isArray(body)) throw badData('expected a JSON array of alerts');
  return body.map((raw, i) => {
    const where = `alerts[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badData(`${where}: expected an object`);
    const o = raw as Record<string, unknown>;
    if (o.labels === undefined) throw badData(`${where}.labels: is required`);
    if (o.generatorURL !== undefined && typeof o.generatorURL !== 'string') throw badData(`${where}.generatorURL: expected a string`);
    return {
      labels: stringMap(o.labels, `${where}.labels`),
      annotations: stringMap(o.annotations, `${where}.annotations`),
      startsAt: parseTime(o.startsAt, 'startsAt', where),
      endsAt: parseTime(o.endsAt, 'endsAt', where),
      generatorURL: (o.generatorURL as string | undefined) ?? '',
    };
  });
}

function decodeSilence(body: unknown): { id?: string; matchers: SilenceMatcher[]; startsAt: number; endsAt: number; createdBy: string; comment: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) throw badData('expected a JSON silence object');
  const o = body as Record<string, unknown>;
  if (!Array.isArray(o.matchers) || o.matchers.length === 0) throw badData('matchers: at least one matcher required');
  const matchers = o.matchers.map((m, i) => {
    if (m === null || typeof m !== 'object') throw badData(`matchers[${i}]: expected an object`);
    const r = m as Record<string, unknown>;
    if (typeof r.name !== 'string' || typeof r.value !== 'string' || typeof r.isRegex !== 'boolean') {
      throw badData(`matchers[${i}]: name and value (strings) and isRegex (boolean) are required`);
    }
    if (r.isEqual !== undefined && typeof r.isEqual !== 'boolean') throw badData(`matchers[${i}].isEqual: expected a boolean`);
    return { name: r.name, value: r.value, isRegex: r.isRegex, isEqual: (r.isEqual as boolean | undefined) ?? true };
  });
  for (const f of ['createdBy', 'comment'] as const) if (typeof o[f] !== 'string') throw badData(`${f}: is required`);
  const startsAt = parseTime(o.startsAt, 'startsAt', 'silence');
  const endsAt = parseTime(o.endsAt, 'endsAt', 'silence');
  if (startsAt === undefined || endsAt === undefined) throw badData('silence: startsAt and endsAt are required');
  if (o.id !== undefined && o.id !== '' && typeof o.id !== 'string') throw badData('id: expected a string');
  return { id: (o.id as string | undefined) || undefined, matchers, startsAt, endsAt, createdBy: o.createdBy as string, comment: o.comment as string };
}

function silenceFailure(err: unknown): never {
  if (err instanceof SilenceError) throw err.notFound ? notFound(err.message) : badData(err.message);
  throw err;
}

/** Registers /api/v2/{alerts,alerts/groups,silences,silence/:id,status,receivers}. */
export function registerAlertmanagerApi(app: FastifyInstance, deps: AlertmanagerApiDeps): void {
  const { service } = deps;

  app.post('/api/v2/alerts', { config: { scope: 'ingest' } }, async (req) => {
    const alerts = decodePostableAlerts(req.body);
    const { errors } = service.pushAlerts(alerts);
    if (errors.length > 0) throw badData(errors.join('; '));
    return '';
  });

  app.get('/api/v2/alerts', { config: { scope: 'read' } }, async (req) => {
    const keep = alertFilter(req.query as Query, service.now());
    return service
      .listAlerts()
      .filter(keep)
      .sort((a, b) => (a.alert.fingerprint < b.alert.fingerprint ? -1 : 1))
      .map(gettableAlert);
  });

  app.get('/api/v2/alerts/groups', { config: { scope: 'read' } }, async (req) => {
    const keep = alertFilter(req.query as Query, service.now());
    const receiver = receiverRegex(req.query as Query);
    return service
      .alertGroups()
      .filter(({ group }) => !receiver || receiver.test(group.route.opts.receiver))
      .map(({ group, alerts }) => ({
        alerts: alerts.filter(keep).map(gettableAlert),
        labels: labelsToRecord(group.labels),
        receiver: { name: group.route.opts.receiver },
      }))
      .filter((g) => g.alerts.length > 0);
  });

  app.get('/api/v2/silences', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const matchers = filterMatchers(q);
    const creators = list(q.creator);
    const now = service.now();
    return service.silences
      .list()
      .filter((s) => matchesAll(matchers, labelsFromRecord(Object.fromEntries(s.matchers.map((m) => [m.name, m.value])))))
      .filter((s) => creators.length === 0 || creators.includes(s.createdBy))
      .sort((a, b) => compareSilences(a, b, now))
      .map((s) => gettableSilence(s, now));
  });

  app.post('/api/v2/silences', { config: { scope: 'admin' } }, async (req) => {
    const input = decodeSilence(req.body);
    try {
      return { silenceID: service.silences.upsert(input) };
    } catch (err) {
      return silenceFailure(err);
    }
  });

  app.get('/api/v2/silence/:id', { config: { scope: 'read' } }, async (req) => {
    const { id } = req.params as { id: string };
    const s = service.silences.get(id);
    if (!s) throw notFound(`silence ${id} not found`);
    return gettableSilence(s, service.now());
  });

  app.delete('/api/v2/silence/:id', { config: { scope: 'admin' } }, async (req) => {
    const { id } = req.params as { id: string };
    try {
      service.silences.expire(id);
    } catch (err) {
      silenceFailure(err);
    }
    return '';
  });

  app.get('/api/v2/status', { config: { scope: 'read' } }, async () => {
    const status = service.status();
    return {
      cluster: { status: 'disabled', peers: [] },
      versionInfo: { branch: '', buildDate: '', buildUser: '', goVersion: process.version, revision: '', version: deps.version },
      config: { original: status.original },
      uptime: iso(status.startedAt),
    };
  });

  app.get('/api/v2/receivers', { config: { scope: 'read' } }, async () => service.receiverNames().map((name) => ({ name })));
}
