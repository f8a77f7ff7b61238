/** Prometheus-style durations: `1h30m`, `15s`, `500ms`, `2d`, `1w`, `1y` (units from largest to smallest). */
const UNIT_MS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
const DURATION_RE = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/;

/** Parses a duration into milliseconds; returns null when the text is not a valid duration. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  if (text === '') return null;
  const m = DURATION_RE.exec(text);
  if (!m) return null;
  let total = 0;
  for (let i = 0; i < ORDER.length; i++) {
    const n = m[2 * i + 2];
    if (n !== undefined) total += Number(n) * UNIT_MS[ORDER[i]!]!;
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** Formats milliseconds the way Prometheus prints durations (`1h30m`, `15s`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  for (const unit of ORDER) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/;
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** Parses a byte size such as `512MiB`, `10GB` or a plain number of bytes. */
export function parseByteSize(text: string): number | null {
  const m = SIZE_RE.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!);
}
