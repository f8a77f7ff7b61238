/** Tokens of LogQL. Durations (`5m`, `1h30m`) are lexed apart from plain numbers. */
import { LogQLParseError } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'bytes' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier or punctuation text, a string's decoded value, or a number/duration's source text. */
  readonly text: string;
  readonly pos: number;
}

const PUNCT = ['|=', '|~', '!=', '!~', '=~', '==', '>=', '<=', '|', '=', '>', '<', '{', '}', '(', ')', '[', ']', ',', '+', '-', '*', '/', '%', '^'];
const IDENT_RE = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const DURATION_RE = /(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))+(?![a-zA-Z0-9_])/y;
const BYTES_RE = /\d+(?:\.\d+)?(?:[KMGTPE]i?B|B)(?![a-zA-Z0-9_])/y;
const NUMBER_RE = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const SPACE_RE = /(?:\s+|#[^\n]*)*/y;

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const sticky = (re: RegExp): string | null => {
    re.lastIndex = pos;
    const m = re.exec(src);
    return m ? m[0] : null;
  };
  for (;;) {
    pos += sticky(SPACE_RE)?.length ?? 0;
    if (pos >= src.length) break;
    const c = src[pos]!;
    if (c === '"' || c === '`') {
      const { value, end } = readString(src, pos);
      tokens.push({ kind: 'string', text: value, pos });
      pos = end;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      const dur = sticky(DURATION_RE);
      if (dur) {
        tokens.push({ kind: 'duration', text: dur, pos });
        pos += dur.length;
        continue;
      }
      const bytes = sticky(BYTES_RE);
      if (bytes) {
        tokens.push({ kind: 'bytes', text: bytes, pos });
        pos += bytes.length;
        continue;
      }
      const num = sticky(NUMBER_RE);
      if (num) {
        tokens.push({ kind: 'number', text: num, pos });
        pos += num.length;
        continue;
      }
    }
    const ident = sticky(IDENT_RE);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident, pos });
      pos += ident.length;
      continue;
    }
    const punct = PUNCT.find((p) => src.startsWith(p, pos));
    if (punct) {
      tokens.push({ kind: 'punct', text: punct, pos });
      pos += punct.length;
      continue;
    }
    throw new LogQLParseError(`unexpected character ${JSON.stringify(c)}`, pos);
  }
  tokens.push({ kind: 'eof', text: '', pos: src.length });
  return tokens;
}

function readString(src: string, start: number): { value: string; end: number } {
  const quote = src[start]!;
  if (quote === '`') {
    const close = src.indexOf('`', start + 1);
    if (close < 0) throw new LogQLParseError('unterminated raw string', start);
    return { value: src.slice(start + 1, close), end: close + 1 };
  }
  let i = start + 1;
  let out = '';
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"') return { value: out, end: i + 1 };
    if (c === '\n') break;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (e !== undefined && simple[e] !== undefined) {
      out += simple[e];
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = src.slice(i + 2, i + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new LogQLParseError(`invalid \\${e} escape in string`, i);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 2 + len;
    } else {
      throw new LogQLParseError(`invalid escape \\${e ?? ''} in string (use \\\\ for a backslash, or a backquoted raw string)`, i);
    }
  }
  throw new LogQLParseError('unterminated string', start);
}

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
  y: 31_536_000_000_000_000n,
};

/** Parses `1h30m`, `5m`, `1.5s`, `250ms` into nanoseconds; null when malformed. */
export function parseDurationNs(text: string): bigint | null {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/y;
  let pos = 0;
  let total = 0n;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return null;
    const [whole, frac = ''] = m[1]!.split('.');
    const unit = UNIT_NS[m[2]!]!;
    total += BigInt(whole!) * unit;
    if (frac !== '') total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    pos = re.lastIndex;
  }
  return pos === 0 ? null : total;
}
