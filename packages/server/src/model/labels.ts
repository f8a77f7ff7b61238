/**
 * Label sets: the identity of a series. Depends on nothing.
 *
 * A `Labels` value is an array sorted by name with unique names and no empty values
 * (an empty value means "label absent", as in Prometheus). Functions here never mutate
 * their inputs; builders return new frozen-by-convention arrays.
 */
export interface Label {
  readonly name: string;
  readonly value: string;
}

export type Labels = readonly Label[];

export const METRIC_NAME = '__name__';

/** Separator that cannot appear in valid UTF-8 label text, used for canonical keys. */
const SEP = '\xff';

export const EMPTY_LABELS: Labels = Object.freeze([]) as Labels;

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Builds sorted labels from a plain record, dropping empty values. */
export function labelsFromRecord(record: Readonly<Record<string, string>>): Labels {
  const out: Label[] = [];
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (value !== undefined && value !== '') out.push({ name, value });
  }
  return out.sort(byName);
}

/** Builds sorted labels from name/value pairs; a later duplicate name wins. Empty values are dropped. */
export function labelsFromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const map = new Map<string, string>();
  for (const [name, value] of pairs) map.set(name, value);
  const out: Label[] = [];
  for (const [name, value] of map) if (value !== '') out.push({ name, value });
  return out.sort(byName);
}

/** Sorts an array of labels in place and returns it as Labels (caller owns the array). */
export function sortLabels(labels: Label[]): Labels {
  return labels.sort(byName);
}

export function labelsToRecord(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) out[l.name] = l.value;
  return out;
}

export function getLabel(labels: Labels, name: string): string | undefined {
  for (const l of labels) if (l.name === name) return l.value;
  return undefined;
}

/** Canonical string key of a label set: equal keys iff equal label sets. */
export function labelsKey(labels: Labels): string {
  let s = '';
  for (const l of labels) s += l.name + SEP + l.value + SEP;
  return s;
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.value !== y.value) return false;
  }
  return true;
}

/** Orders label sets as Prometheus does (label by label, name then value; shorter first on tie). */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.length - b.length;
}

/** Returns labels without the named ones. */
export function withoutLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter((l) => !names.has(l.name));
}

/** Returns only the named labels. */
export function onlyLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter((l) => names.has(l.name));
}

/** Returns labels with `name` set to `value` (removed when value is empty). */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Label[] = [];
  let placed = value === '';
  for (const l of labels) {
    if (l.name === name) continue;
    if (!placed && l.name > name) {
      out.push({ name, value });
      placed = true;
    }
    out.push(l);
  }
  if (!placed) out.push({ name, value });
  return out;
}

const LEGACY_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isLegacyMetricName(name: string): boolean {
  return LEGACY_NAME_RE.test(name);
}

export function isLegacyLabelName(name: string): boolean {
  return LEGACY_LABEL_RE.test(name);
}

function quoteLabelValue(v: string): string {
  return JSON.stringify(v);
}

/** Formats labels the way Prometheus prints a series: `name{a="b", c="d"}` (UTF-8 names quoted). */
export function formatLabels(labels: Labels): string {
  let name = '';
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === METRIC_NAME && isLegacyMetricName(l.value)) {
      name = l.value;
      continue;
    }
    if (l.name === METRIC_NAME) {
      parts.unshift(quoteLabelValue(l.value));
      continue;
    }
    const n = isLegacyLabelName(l.name) ? l.name : quoteLabelValue(l.name);
    parts.push(`${n}=${quoteLabelValue(l.value)}`);
  }
  if (parts.length === 0) return name === '' ? '{}' : name;
  return `${name}{${parts.join(', ')}}`;
}
