/** PromQL's lexical values: Go-style string literals, numbers and durations. */

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1];

/** Parses a Prometheus duration (`1h30m`, `0`) to milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  if (text === '') return null;
  const m = DURATION_RE.exec(text);
  if (!m) return null;
  let ms = 0;
  let any = false;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) {
      ms += Number(part) * UNIT_MS[i]!;
      any = true;
    }
  }
  return any ? ms : null;
}

/** Formats milliseconds as a Prometheus duration (`1h30m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  for (let i = 0; i < units.length; i++) {
    const u = UNIT_MS[i]!;
    // Years and weeks only when exact: 90d reads better than 12w6d.
    if (i < 2 && rest % u !== 0) continue;
    if (rest >= u) {
      const n = Math.floor(rest / u);
      out += `${n}${units[i]}`;
      rest -= n * u;
    }
  }
  return out;
}

/** Reads a PromQL number literal (decimal, hex, Inf, NaN, or a duration meaning seconds). */
export function parseNumberLiteral(text: string): number | null {
  const t = text.replace(/_/g, '');
  const lower = t.toLowerCase();
  let sign = 1;
  let body = lower;
  if (body.startsWith('+') || body.startsWith('-')) {
    if (body.startsWith('-')) sign = -1;
    body = body.slice(1);
  }
  if (body === 'inf') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return sign * Number(body);
  const d = parseDuration(t.replace(/^[+-]/, ''));
  if (d !== null) return (sign * d) / 1000;
  return null;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

/** Unquotes a Go-style string literal ("…", '…' or `…`); throws Error with a reason when malformed. */
export function unquoteString(text: string): string {
  const q = text[0];
  if (text.length < 2 || text[text.length - 1] !== q) throw new Error('unterminated quoted string');
  const body = text.slice(1, -1);
  if (q === '`') return body;
  if (q !== '"' && q !== "'") throw new Error('invalid quoted string');
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      if (c === q) throw new Error('invalid syntax');
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new Error('invalid syntax');
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      if ((e === "'" && q === '"') || (e === '"' && q === "'")) throw new Error('invalid syntax');
      out += simple;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw new Error('invalid syntax');
      const code = parseInt(hex, 16);
      if (e === 'x') out += String.fromCharCode(code);
      else out += String.fromCodePoint(code);
      i += n;
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax');
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else {
      throw new Error('invalid syntax');
    }
  }
  return out;
}

/**
 * Adapts the few spellings Go's PromQL lexer accepts and the lezer grammar does not, keeping
 * every position: a trailing dot in a number (`1.` becomes `1 `) and upper-case `STEP()`.
 */
export function normalizeForGrammar(query: string): string {
  let out = '';
  let quote = '';
  for (let i = 0; i < query.length; i++) {
    const c = query[i]!;
    if (quote !== '') {
      if (c === '\\' && quote !== '`') {
        out += c + (query[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) quote = '';
      out += c;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      out += c;
    } else if (/^(step|range)\s*\(\s*\)/i.test(query.slice(i)) && !/[\w:]$/.test(out)) {
      // Duration functions are case-insensitive in Prometheus's lexer, lowercase-only in lezer.
      const m = /^(step|range)/i.exec(query.slice(i))!;
      out += m[0].toLowerCase();
      i += m[0].length - 1;
    } else if (c === '.' && /[0-9]/.test(query[i - 1] ?? '') && !/[0-9a-zA-Z_]/.test(query[i + 1] ?? '') && !/[a-zA-Z_:]\w*$/.test(out)) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}
