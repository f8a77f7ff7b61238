/**
 * Release health from `session` (one session's update) and `sessions` (pre-aggregated counts)
 * envelope items (https://develop.sentry.dev/sdk/telemetry/sessions/). A session counts as
 * started on its `init` update and once more under its final status when it ends; a session that
 * exited after errors counts as errored. Crash-free rate = 1 − crashed / started.
 */
import type { SessionCounts } from '../storage/error-store.js';
import { EnvelopeError } from './envelope.js';
import { parseTimestampMs } from './normalize.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0);

function attrs(payload: Json, what: string): { release: string; environment: string } {
  const a = payload.attrs;
  if (!isObject(a) || typeof a.release !== 'string' || a.release === '') throw new EnvelopeError(`${what}: "attrs.release" is required`);
  return { release: a.release.slice(0, 200), environment: typeof a.environment === 'string' ? a.environment.slice(0, 64) : '' };
}

/**
 * Ids of sessions whose end was counted, so that repeated final updates (an SDK sends `crashed`
 * when the crash happens and again when the session closes) count once. Bounded: the oldest ids
 * are forgotten first.
 */
export class EndedSessions {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 100_000) {}

  /** Records `key`; false when it was already recorded. */
  add(key: string): boolean {
    if (this.ids.has(key)) return false;
    this.ids.add(key);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

/** Counts of one `session` update; null when the update changes no count (an ongoing session). */
export function sessionUpdateCounts(payload: Json, projectId: number, receivedMs: number, what: string, ended: EndedSessions): SessionCounts | null {
  const { release, environment } = attrs(payload, what);
  const status = payload.status ?? 'ok';
  if (typeof status !== 'string' || !['ok', 'exited', 'crashed', 'abnormal', 'errored'].includes(status)) {
    throw new EnvelopeError(`${what}: "status" must be ok, exited, crashed, abnormal or errored`);
  }
  const started = payload.init === true ? 1 : 0;
  const errors = count(payload.errors);
  let final = status === 'exited' && errors > 0 ? 'errored' : status;
  if (final !== 'ok' && typeof payload.sid === 'string' && !ended.add(`${projectId}\0${payload.sid}`)) final = 'ok';
  if (started === 0 && final === 'ok') return null;
  return {
    projectId,
    timestampMs: parseTimestampMs(payload.timestamp) ?? parseTimestampMs(payload.started) ?? receivedMs,
    release,
    environment,
    started,
    exited: final === 'exited' ? 1 : 0,
    errored: final === 'errored' ? 1 : 0,
    abnormal: final === 'abnormal' ? 1 : 0,
    crashed: final === 'crashed' ? 1 : 0,
  };
}

/** Counts of a `sessions` aggregate item: one entry per aggregate bucket. */
export function sessionAggregateCounts(payload: Json, projectId: number, receivedMs: number, what: string): SessionCounts[] {
  const { release, environment } = attrs(payload, what);
  if (!Array.isArray(payload.aggregates)) throw new EnvelopeError(`${what}: "aggregates" must be a list`);
  const out: SessionCounts[] = [];
  for (const a of payload.aggregates.slice(0, 1000)) {
    if (!isObject(a)) throw new EnvelopeError(`${what}: each aggregate must be an object`);
    const exited = count(a.exited);
    const errored = count(a.errored);
    const abnormal = count(a.abnormal);
    const crashed = count(a.crashed);
    const started = exited + errored + abnormal + crashed;
    if (started === 0) continue;
    out.push({ projectId, timestampMs: parseTimestampMs(a.started) ?? receivedMs, release, environment, started, exited, errored, abnormal, crashed });
  }
  return out;
}
