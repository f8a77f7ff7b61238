/**
 * Silences with Alertmanager's rules: matchers (at least one, not all matching the empty string),
 * start and end, creator and comment; states pending, active and expired; updates in place only when
 * Alertmanager would allow it (else the old silence expires and a new one is created); expired
 * silences are kept for the retention period. Persisted in the data directory on every change.
 */
import { randomUUID } from 'node:crypto';
import type { Labels } from '../model/labels.js';
import { compileMatcher, matchesAll, MatcherError, type CompiledMatcher } from '../model/matchers.js';
import type { Clock } from './clock.js';
import { readStateFile, writeStateFile } from './state-file.js';

export interface SilenceMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  /** False for `!=` and `!~`. */
  readonly isEqual: boolean;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly SilenceMatcher[];
  /** Unix ms. */
  readonly startsAt: number;
  readonly endsAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export interface SilenceInput {
  readonly id?: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

/** A rejected silence operation; `notFound` maps to 404 at the API. */
export class SilenceError extends Error {
  override readonly name = 'SilenceError';
  constructor(
    message: string,
    readonly notFound = false,
  ) {
    super(message);
  }
}

export function silenceState(s: Pick<Silence, 'startsAt' | 'endsAt'>, now: number): SilenceState {
  if (s.endsAt <= now) return 'expired';
  if (s.startsAt > now) return 'pending';
  return 'active';
}

function compile(m: SilenceMatcher): CompiledMatcher {
  const type = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return compileMatcher({ type, name: m.name, value: m.value });
}

function sameMatchers(a: readonly SilenceMatcher[], b: readonly SilenceMatcher[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface SilenceStoreOptions {
  /** The state file (under the data directory). */
  readonly file: string;
  readonly clock: Clock;
  /** How long expired silences are kept, ms (Alertmanager: 120h). */
  readonly retentionMs: number;
}

export class SilenceStore {
  private readonly silences = new Map<string, Silence>();
  private readonly compiled = new Map<string, CompiledMatcher[]>();

  constructor(private readonly opts: SilenceStoreOptions) {
    const saved = readStateFile(opts.file) as Silence[] | null;
    for (const s of saved ?? []) this.put(s);
  }

  private put(s: Silence): void {
    this.silences.set(s.id, s);
    this.compiled.set(s.id, s.matchers.map(compile));
  }

  private persist(): void {
    writeStateFile(this.opts.file, [...this.silences.values()]);
  }

  list(): Silence[] {
    return [...this.silences.values()];
  }

  get(id: string): Silence | undefined {
    return this.silences.get(id);
  }

  /** Validates a silence as Alertmanager does; returns the compiled matchers. */
  private validate(input: SilenceInput, now: number, isNew: boolean): CompiledMatcher[] {
    if (input.matchers.length === 0) throw new SilenceError('at least one matcher required');
    const compiled = input.matchers.map((m, i) => {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name)) throw new SilenceError(`invalid label matcher ${i}: invalid label name ${JSON.stringify(m.name)}`);
      try {
        return compile(m);
      } catch (err) {
        if (err instanceof MatcherError) throw new SilenceError(`invalid label matcher ${i}: ${err.message}`);
        throw err;
      }
    });
    if (compiled.every((m) => m.matches(''))) throw new SilenceError('at least one matcher must not match the empty string');
    if (!Number.isFinite(input.startsAt) || !Number.isFinite(input.endsAt)) throw new SilenceError('invalid start or end time');
    if (input.endsAt < input.startsAt) throw new SilenceError('end time must not be before start time');
    if (isNew && input.endsAt < now) throw new SilenceError("end time can't be in the past");
    if (input.createdBy.trim() === '') throw new SilenceError('createdBy must not be empty');
    if (input.comment.trim() === '') throw new SilenceError('comment must not be empty');
    return compiled;
  }

  /** Creates or updates a silence; returns its id (a new one when the update cannot be in place). */
  upsert(input: SilenceInput): string {
    const now = this.opts.clock.now();
    const existing = input.id ? this.silences.get(input.id) : undefined;
    if (input.id && !existing) throw new SilenceError(`silence ${input.id} not found`, true);
    this.validate(input, now, true);
    if (existing && this.canUpdate(existing, input, now)) {
      this.put({ ...existing, matchers: [...input.matchers], startsAt: input.startsAt, endsAt: input.endsAt, createdBy: input.createdBy, comment: input.comment, updatedAt: now });
      this.persist();
      return existing.id;
    }
    if (existing && silenceState(existing, now) !== 'expired') this.expireAt(existing, now);
    const id = randomUUID();
    // A new silence never starts in the past (Alertmanager moves its start to now).
    this.put({ id, matchers: [...input.matchers], startsAt: Math.max(input.startsAt, now), endsAt: input.endsAt, updatedAt: now, createdBy: input.createdBy, comment: input.comment });
    this.persist();
    return id;
  }

  private canUpdate(a: Silence, b: SilenceInput, now: number): boolean {
    if (!sameMatchers(a.matchers, b.matchers)) return false;
    switch (silenceState(a, now)) {
      case 'active':
        return b.startsAt === a.startsAt && b.endsAt >= now;
      case 'pending':
        return b.startsAt >= now;
      case 'expired':
        return false;
    }
  }

  private expireAt(s: Silence, now: number): void {
    const pending = silenceState(s, now) === 'pending';
    this.put({ ...s, startsAt: pending ? now : s.startsAt, endsAt: now, updatedAt: now });
  }

  /** Expires a silence now. */
  expire(id: string): void {
    const s = this.silences.get(id);
    if (!s) throw new SilenceError(`silence ${id} not found`, true);
    const now = this.opts.clock.now();
    if (silenceState(s, now) === 'expired') throw new SilenceError(`silence ${id} already expired`);
    this.expireAt(s, now);
    this.persist();
  }

  /** Ids of the active silences that match the labels. */
  mutedBy(labels: Labels, now: number): string[] {
    const ids: string[] = [];
    for (const s of this.silences.values()) {
      if (silenceState(s, now) !== 'active') continue;
      if (matchesAll(this.compiled.get(s.id)!, labels)) ids.push(s.id);
    }
    return ids;
  }

  /** Drops silences expired longer than the retention period. */
  gc(): void {
    const cutoff = this.opts.clock.now() - this.opts.retentionMs;
    let changed = false;
    for (const [id, s] of this.silences) {
      if (s.endsAt < cutoff) {
        this.silences.delete(id);
        this.compiled.delete(id);
        changed = true;
      }
    }
    if (changed) this.persist();
  }
}
