/**
 * Alerts as the dispatcher holds them, the shape sources push (the API, rule evaluation and
 * Watchkeeper's own sources), validation, Alertmanager's fingerprint, ordering and merging.
 * Times are Unix milliseconds; an `endsAt` in the past means resolved.
 */
import { FNV64_OFFSET, fnv1a64 } from '../model/fnv.js';
import { formatLabels, isLegacyLabelName, labelsFromRecord, type Labels } from '../model/labels.js';

/** An alert as a source pushes it. Missing `startsAt` means now; missing `endsAt` means now + resolve_timeout. */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Unix ms. */
  readonly startsAt?: number;
  /** Unix ms. */
  readonly endsAt?: number;
  readonly generatorURL?: string;
}

export interface Alert {
  readonly labels: Labels;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
  /** When the alert was last received (Unix ms). */
  readonly updatedAt: number;
  /** True when endsAt was set by resolve_timeout, not by the source. */
  readonly timeout: boolean;
  /** 16 hex digits, Alertmanager's label-set fingerprint. */
  readonly fingerprint: string;
}

const SEPARATOR = new Uint8Array([0xff]);
const encoder = new TextEncoder();

/** Alertmanager's (Prometheus common model's) label-set fingerprint: FNV-1a 64 over sorted pairs. */
export function fingerprintLabels(labels: Labels): string {
  let h = FNV64_OFFSET;
  for (const l of labels) {
    h = fnv1a64(encoder.encode(l.name), h);
    h = fnv1a64(SEPARATOR, h);
    h = fnv1a64(encoder.encode(l.value), h);
    h = fnv1a64(SEPARATOR, h);
  }
  return h.toString(16).padStart(16, '0');
}

/** Prints a label set as Prometheus's model.LabelSet does: `{a="b", c="d"}`. */
export function formatLabelSet(labels: Labels): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
}

export function isResolvedAt(alert: Pick<Alert, 'endsAt'>, now: number): boolean {
  return alert.endsAt !== 0 && alert.endsAt <= now;
}

/**
 * Validates and completes a pushed alert as Alertmanager's API does. Returns an error message for an
 * invalid alert.
 */
export function acceptAlert(p: PostableAlert, now: number, resolveTimeoutMs: number): Alert | string {
  const labels = labelsFromRecord(p.labels ?? {});
  if (labels.length === 0) return 'at least one label pair required';
  for (const l of labels) if (!isLegacyLabelName(l.name)) return `invalid label name ${JSON.stringify(l.name)}`;
  for (const name of Object.keys(p.annotations ?? {})) if (!isLegacyLabelName(name)) return `invalid annotation name ${JSON.stringify(name)}`;
  let startsAt = p.startsAt ?? 0;
  let endsAt = p.endsAt ?? 0;
  let timeout = false;
  if (startsAt === 0) startsAt = endsAt === 0 ? now : endsAt;
  if (endsAt === 0) {
    timeout = true;
    endsAt = now + resolveTimeoutMs;
  }
  if (endsAt < startsAt) return `${formatLabels(labels)}: start time must be before end time`;
  return {
    labels,
    annotations: { ...(p.annotations ?? {}) },
    startsAt,
    endsAt,
    generatorURL: p.generatorURL ?? '',
    updatedAt: now,
    timeout,
    fingerprint: fingerprintLabels(labels),
  };
}

/** Alertmanager's Alert.Merge: `next` is the younger alert; earliest start wins, explicit ends rule. */
export function mergeAlerts(prev: Alert, next: Alert, now: number): Alert {
  if (next.updatedAt < prev.updatedAt) return mergeAlerts(next, prev, now);
  let startsAt = next.startsAt;
  let endsAt = next.endsAt;
  if (prev.startsAt < next.startsAt) startsAt = prev.startsAt;
  if (isResolvedAt(next, now)) {
    if (isResolvedAt(prev, now) && prev.endsAt > next.endsAt) endsAt = prev.endsAt;
  } else if (prev.endsAt > next.endsAt && !prev.timeout) {
    endsAt = prev.endsAt;
  }
  return { ...next, startsAt, endsAt };
}

/** Alertmanager's test for merging: the incoming alert's start or end falls inside the stored one (else it replaces it). */
export function overlaps(prev: Alert, next: Alert): boolean {
  return (next.endsAt > prev.startsAt && next.endsAt < prev.endsAt) || (next.startsAt > prev.startsAt && next.startsAt < prev.endsAt);
}

function labelValue(labels: Labels, name: string): string | undefined {
  for (const l of labels) if (l.name === name) return l.value;
  return undefined;
}

/** Alertmanager's alert order in notifications: by job, then instance, then the whole label set. */
export function compareAlerts(a: Alert, b: Alert): number {
  for (const key of ['job', 'instance']) {
    const x = labelValue(a.labels, key);
    const y = labelValue(b.labels, key);
    if (x === undefined && y === undefined) continue;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  const n = Math.min(a.labels.length, b.labels.length);
  for (let i = 0; i < n; i++) {
    const x = a.labels[i]!;
    const y = b.labels[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.labels.length - b.labels.length;
}
