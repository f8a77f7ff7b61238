/**
 * OTLP → Prometheus naming, per the OpenTelemetry specification "Prometheus and OpenMetrics
 * compatibility": invalid characters become `_` (runs collapsed), UCUM units become Prometheus
 * unit words appended as a suffix (unless already in the name), `{...}` annotations are dropped,
 * `1` becomes `ratio` (gauges only, as Prometheus's own OTLP translator does), `a/b` becomes
 * `a_per_b`, and monotonic counters end in `_total`.
 */

/** The Prometheus family kind a metric translates to; it decides the suffixes. */
export type PrometheusKind = 'counter' | 'gauge' | 'histogram' | 'summary';

const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const nameCache = new Map<string, string>();
const NAME_CACHE_LIMIT = 10_000;

/** Replaces characters outside [a-zA-Z0-9_:] by `_` and collapses runs of `_`. */
export function sanitizeMetricName(name: string): string {
  let out = name.replace(/[^a-zA-Z0-9_:]+/g, '_').replace(/__+/g, '_');
  if (/^[0-9]/.test(out)) out = `_${out}`;
  return out;
}

const labelNameCache = new Map<string, string>();

/**
 * Turns an attribute key into a Prometheus label name: invalid characters become `_` (runs
 * collapsed) and a leading digit gets a `key_` prefix, as Prometheus's OTLP translator does.
 */
export function sanitizeLabelName(key: string): string {
  const cached = labelNameCache.get(key);
  if (cached !== undefined) return cached;
  let out = key.replace(/[^a-zA-Z0-9_]+/g, '_').replace(/__+/g, '_');
  if (/^[0-9]/.test(out)) out = `key_${out}`;
  if (labelNameCache.size >= NAME_CACHE_LIMIT) labelNameCache.clear();
  labelNameCache.set(key, out);
  return out;
}

function unitWord(unit: string, words: Readonly<Record<string, string>>): string {
  return words[unit] ?? unit.replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/** The Prometheus unit for an OTLP (UCUM) unit; '' when unitless. */
export function prometheusUnit(unit: string, kind: PrometheusKind): string {
  const u = unit.replace(/\{[^}]*\}/g, '').trim();
  if (u === '') return '';
  if (u === '1') return kind === 'gauge' ? 'ratio' : '';
  const slash = u.indexOf('/');
  if (slash >= 0) {
    const main = u.slice(0, slash).trim();
    const per = u.slice(slash + 1).trim();
    const perWord = per === '' ? '' : unitWord(per, PER_UNIT_WORDS);
    const mainWord = main === '' || main === '1' ? '' : unitWord(main, UNIT_WORDS);
    if (perWord === '') return mainWord;
    return mainWord === '' ? `per_${perWord}` : `${mainWord}_per_${perWord}`;
  }
  return unitWord(u, UNIT_WORDS);
}

/** The Prometheus metric family name of an OTLP metric (histograms and summaries add their own suffixes). */
export function prometheusMetricName(name: string, unit: string, kind: PrometheusKind): string {
  const key = `${kind}\xff${unit}\xff${name}`;
  const cached = nameCache.get(key);
  if (cached !== undefined) return cached;
  let base = sanitizeMetricName(name);
  if (kind === 'counter' && base.endsWith('_total')) base = base.slice(0, -'_total'.length);
  const promUnit = prometheusUnit(unit, kind);
  if (promUnit !== '' && !`_${base}_`.includes(`_${promUnit}_`)) base = `${base}_${promUnit}`;
  if (kind === 'counter') base = `${base}_total`;
  const out = base.replace(/__+/g, '_');
  if (nameCache.size >= NAME_CACHE_LIMIT) nameCache.clear();
  nameCache.set(key, out);
  return out;
}
