/**
 * Prometheus's humanize family (`humanize`, `humanize1024`, `humanizeDuration`,
 * `humanizePercentage`, `humanizeTimestamp`), producing the same text as Prometheus's Go code,
 * whose output is `%.4g` formatting plus an SI or IEC prefix.
 */
import { formatGoTime, GoDuration } from './go-format.js';

/** Go's `%.<prec>g`: `prec` significant digits, exponent form when exp < -4 or exp >= prec, no trailing zeros. */
export function formatG(v: number, prec = 4): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(prec)))));
  if (exp < -4 || exp >= prec) {
    const [mant, e] = v.toExponential(prec - 1).split('e') as [string, string];
    const trimmed = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    const n = Number(e);
    return `${trimmed}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, prec - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** Prometheus's convertToFloat: numbers pass, strings are parsed, durations are seconds, anything else is an error. */
export function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof GoDuration) return v.ms / 1000;
  if (typeof v === 'string') {
    const t = v.trim();
    const lower = t.toLowerCase();
    if (lower === 'nan') return NaN;
    if (lower === '+inf' || lower === 'inf') return Infinity;
    if (lower === '-inf') return -Infinity;
    const n = Number(t);
    if (t === '' || Number.isNaN(n)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
    return n;
  }
  throw new Error(`can't convert ${typeof v} to float`);
}

export function humanize(input: unknown): string {
  let v = toFloat(input);
  if (v === 0 || !Number.isFinite(v)) return formatG(v);
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return formatG(v) + prefix;
  }
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return formatG(v) + prefix;
}

export function humanize1024(input: unknown): string {
  let v = toFloat(input);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatG(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatG(v) + prefix;
}

export function humanizeDuration(input: unknown): string {
  let v = toFloat(input);
  if (!Number.isFinite(v)) return formatG(v);
  if (v === 0) return `${formatG(v)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    if (v < 0) v = -v;
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatG(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v)}${prefix}s`;
}

export function humanizePercentage(input: unknown): string {
  return `${formatG(toFloat(input) * 100)}%`;
}

export function humanizeTimestamp(input: unknown): string {
  const v = toFloat(input);
  if (!Number.isFinite(v)) return formatG(v);
  return formatGoTime(new Date(v * 1000));
}
