/**
 * Alertmanager time intervals: times of day, weekdays, days of month (negative counts from the
 * month's end), months, years, evaluated in a named time zone (IANA, via Intl) so that "business
 * hours in Europe/Berlin" follows daylight saving time.
 */
import { ConfigProblem, readList, readMap, readString, readStringList, type ConfigPath } from './config/config-reader.js';

interface Range {
  readonly begin: number;
  readonly end: number;
}

/** One entry of a named interval; every set part must match (an empty part matches anything). */
export interface TimeInterval {
  /** Minutes of the day, end exclusive. */
  readonly times: readonly Range[];
  /** 0 = Sunday. */
  readonly weekdays: readonly Range[];
  readonly daysOfMonth: readonly Range[];
  /** 1 = January. */
  readonly months: readonly Range[];
  readonly years: readonly Range[];
  /** IANA zone name; 'UTC' by default, 'Local' for the process's zone. */
  readonly location: string;
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const TIME_RE = /^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/;

function splitRange(text: string): [string, string] {
  const parts = text.split(':');
  if (parts.length === 1) return [parts[0]!, parts[0]!];
  if (parts.length === 2) return [parts[0]!, parts[1]!];
  return ['', ''];
}

function parseNamedRange(text: string, names: readonly string[], offset: number, what: string, path: ConfigPath): Range {
  const [a, b] = splitRange(text.toLowerCase());
  const value = (s: string): number => {
    const i = names.indexOf(s);
    if (i >= 0) return i + offset;
    if (what === 'month' && /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 12) return Number(s);
    throw new ConfigProblem(path, `${JSON.stringify(s)} is not a valid ${what}`);
  };
  const r = { begin: value(a), end: value(b) };
  if (r.begin > r.end) throw new ConfigProblem(path, `start ${what} cannot be before end ${what}`);
  return r;
}

function parseNumberRange(text: string, path: ConfigPath, what: 'day of the month' | 'year'): Range {
  const [a, b] = splitRange(text);
  const num = (s: string): number => {
    if (!/^-?\d+$/.test(s)) throw new ConfigProblem(path, `invalid ${what} range ${JSON.stringify(text)}`);
    return Number(s);
  };
  const r = { begin: num(a), end: num(b) };
  if (what === 'year') {
    if (r.begin > r.end) throw new ConfigProblem(path, 'end year cannot be before start year');
    return r;
  }
  for (const d of [r.begin, r.end]) {
    if (d === 0 || d < -31 || d > 31) throw new ConfigProblem(path, `${d} is not a valid day of the month: out of range`);
  }
  // Negative days count from the month's end; compare on a 30-day month to catch blatant inversions.
  const begin = r.begin < 0 ? 30 + r.begin : r.begin;
  const end = r.end < 0 ? 30 + r.end : r.end;
  if (begin > end) throw new ConfigProblem(path, 'start day cannot be greater than end day');
  return r;
}

function parseTime(v: unknown, path: ConfigPath): number {
  const s = readString(v, path);
  if (s === undefined) throw new ConfigProblem(path, 'is required');
  if (!TIME_RE.test(s)) throw new ConfigProblem(path, `couldn't parse timestamp ${s}, invalid format`);
  const [h, m] = s.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** Checks a time zone name the way Go's time.LoadLocation would accept it. */
export function isKnownTimeZone(name: string): boolean {
  if (name === 'Local' || name === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Parses one entry of `time_intervals[].time_intervals`. */
export function parseTimeInterval(v: unknown, path: ConfigPath): TimeInterval {
  const raw = readMap(v, path, ['times', 'weekdays', 'days_of_month', 'months', 'years', 'location']);
  const times = readList(raw.times, [...path, 'times']).map((t, i) => {
    const p = [...path, 'times', i];
    const tr = readMap(t, p, ['start_time', 'end_time']);
    const begin = parseTime(tr.start_time, [...p, 'start_time']);
    const end = parseTime(tr.end_time, [...p, 'end_time']);
    if (begin >= end) throw new ConfigProblem(p, 'start time cannot be equal or greater than end time');
    return { begin, end };
  });
  const list = (key: string) => readStringList(raw[key], [...path, key]);
  const location = readString(raw.location, [...path, 'location']) ?? 'UTC';
  if (!isKnownTimeZone(location)) throw new ConfigProblem([...path, 'location'], `unknown time zone ${location}`);
  return {
    times,
    weekdays: list('weekdays').map((s, i) => parseNamedRange(s, WEEKDAYS, 0, 'weekday', [...path, 'weekdays', i])),
    daysOfMonth: list('days_of_month').map((s, i) => parseNumberRange(s, [...path, 'days_of_month', i], 'day of the month')),
    months: list('months').map((s, i) => parseNamedRange(s, MONTHS, 1, 'month', [...path, 'months', i])),
    years: list('years').map((s, i) => parseNumberRange(s, [...path, 'years', i], 'year')),
    location,
  };
}

interface ZonedTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly minuteOfDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoned(ms: number, zone: string): ZonedTime {
  const tz = zone === 'Local' ? undefined : zone;
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'long' });
    formatters.set(zone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday!.toLowerCase()),
    minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

function inRanges(v: number, ranges: readonly Range[]): boolean {
  if (ranges.length === 0) return true;
  return ranges.some((r) => v >= r.begin && v <= r.end);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** True when the instant (Unix ms) falls inside the interval. */
export function intervalContains(ti: TimeInterval, ms: number): boolean {
  const t = zoned(ms, ti.location);
  if (ti.times.length > 0 && !ti.times.some((r) => t.minuteOfDay >= r.begin && t.minuteOfDay < r.end)) return false;
  if (ti.daysOfMonth.length > 0) {
    const dim = daysInMonth(t.year, t.month);
    const ok = ti.daysOfMonth.some((r) => {
      const begin = r.begin < 0 ? dim + r.begin + 1 : r.begin;
      const end = r.end < 0 ? dim + r.end + 1 : r.end;
      if (begin > dim) return false;
      return t.day >= Math.max(begin, -dim) && t.day <= Math.min(end, dim);
    });
    if (!ok) return false;
  }
  return inRanges(t.month, ti.months) && inRanges(t.weekday, ti.weekdays) && inRanges(t.year, ti.years);
}

/** True when the instant falls inside any of the intervals. */
export function anyIntervalContains(intervals: readonly TimeInterval[], ms: number): boolean {
  return intervals.some((ti) => intervalContains(ti, ms));
}
