/**
 * Alertmanager's matcher syntax (`severity="critical"`, `{a=~"x|y", b!=z}`), its ordering and its
 * printing (used in route keys and hence in group keys, which receivers see).
 */
import { compileMatcher, MatcherError, type CompiledMatcher, type MatchType } from '../model/matchers.js';

const MATCHER_RE = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;

/** Splits `{a="x,y", b=c}` on commas outside double quotes, as Alertmanager's ParseMatchers does. */
function splitMatchers(text: string): string[] {
  let s = text.trim();
  if (s.startsWith('{')) s = s.slice(1);
  if (s.endsWith('}')) s = s.slice(0, -1);
  const tokens: string[] = [];
  let inside = false;
  let escaped = false;
  let token = '';
  for (const ch of s) {
    if (ch === ',' && !inside) {
      tokens.push(token);
      token = '';
      continue;
    }
    if (ch === '"') {
      if (!escaped) inside = !inside;
      else escaped = false;
    } else if (ch === '\\') escaped = !escaped;
    else escaped = false;
    token += ch;
  }
  if (token.trim() !== '') tokens.push(token.trim());
  return tokens;
}

/** Parses one matcher; throws MatcherError with Alertmanager's wording. */
export function parseAmMatcher(text: string): CompiledMatcher {
  const m = MATCHER_RE.exec(text);
  if (!m) throw new MatcherError(`bad matcher format: ${text}`);
  const [, name, op, raw = ''] = m;
  let rawValue = raw;
  let expectQuote = false;
  if (rawValue.startsWith('"')) {
    rawValue = rawValue.slice(1);
    expectQuote = true;
  }
  let value = '';
  let escaped = false;
  const chars = [...rawValue];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (escaped) {
      escaped = false;
      if (ch === 'n') value += '\n';
      else if (ch === '"' || ch === '\\') value += ch;
      else value += `\\${ch}`;
      continue;
    }
    if (ch === '\\') {
      if (i < chars.length - 1) escaped = true;
      else value += '\\';
    } else if (ch === '"') {
      if (!expectQuote || i < chars.length - 1) throw new MatcherError(`matcher value contains unescaped double quote: ${raw}`);
      expectQuote = false;
    } else value += ch;
  }
  if (expectQuote) throw new MatcherError(`matcher value contains unescaped double quote: ${raw}`);
  return compileMatcher({ type: op as MatchType, name: name!, value });
}

/** Parses a list entry of `matchers:`, which may hold several comma-separated matchers. */
export function parseAmMatchers(text: string): CompiledMatcher[] {
  return splitMatchers(text).map(parseAmMatcher);
}

const TYPE_ORDER: Record<MatchType, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };

/** Alertmanager's matcher order: name, then value, then type. */
export function sortMatchers<T extends CompiledMatcher>(ms: T[]): T[] {
  return ms.sort((a, b) =>
    a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.value !== b.value ? (a.value < b.value ? -1 : 1) : TYPE_ORDER[a.type] - TYPE_ORDER[b.type],
  );
}

/** Escapes a value as OpenMetrics does (backslash, newline, double quote). */
function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Prints one matcher as Alertmanager does: `name="value"`. */
export function formatAmMatcher(m: CompiledMatcher): string {
  return `${m.name}${m.type}"${escapeValue(m.value)}"`;
}

/** Prints matchers as Alertmanager does: `{a="b",c=~"d"}`. */
export function formatAmMatchers(ms: readonly CompiledMatcher[]): string {
  return `{${ms.map(formatAmMatcher).join(',')}}`;
}

