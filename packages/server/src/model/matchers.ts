/** Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's fully anchored RE2-style regexes. */
import type { Labels } from './labels.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
}

/** A matcher with its test compiled once. */
export interface CompiledMatcher extends Matcher {
  /** Tests a label value; an absent label is tested as the empty string, as in Prometheus. */
  matches(value: string): boolean;
}

/**
 * Translates an RE2 pattern to a JavaScript RegExp source. Prometheus uses Go's RE2 with `(?s)`
 * (dot matches newline); the syntaxes differ mainly in flags groups and \z, handled here.
 */
function toJsRegexSource(pattern: string): { source: string; flags: string } {
  let flags = 's';
  let source = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(source);
  if (m) {
    if (m[1]!.includes('i')) flags += 'i';
    source = source.slice(m[0].length);
  }
  source = source.replace(/\\z/g, '$').replace(/\(\?P</g, '(?<');
  if (source.includes('(?i')) source = expandInlineCaseInsensitivity(source);
  return { source, flags };
}

function swapCase(c: string): string {
  const lower = c.toLowerCase();
  return lower === c ? c.toUpperCase() : lower;
}

/**
 * Rewrites RE2's inline `(?i:…)` groups and `(?i)` inside a group, which JavaScript lacks before
 * V8 12.5, into explicit both-case character classes.
 */
function expandInlineCaseInsensitivity(src: string): string {
  const stack: boolean[] = [];
  let ci = false;
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += src.slice(i, i + 2);
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      const body = src.slice(i + 1, j);
      let extra = '';
      if (ci) {
        const plain = body.startsWith('^') ? body.slice(1) : body;
        for (let k = 0; k < plain.length; k++) {
          if (plain[k] === '\\') k++;
          else if (/[a-zA-Z]/.test(plain[k]!)) extra += plain[k - 1] === '-' && /[a-zA-Z]/.test(plain[k - 2] ?? '') ? `-${swapCase(plain[k]!)}` : swapCase(plain[k]!);
        }
      }
      out += `[${body}${extra}]`;
      i = j;
    } else if (src.startsWith('(?i:', i)) {
      stack.push(ci);
      ci = true;
      out += '(?:';
      i += 3;
    } else if (src.startsWith('(?i)', i)) {
      ci = true;
      i += 3;
    } else if (c === '(') {
      stack.push(ci);
      out += c;
    } else if (c === ')') {
      ci = stack.pop() ?? false;
      out += c;
    } else if (ci && /[a-zA-Z]/.test(c)) {
      out += `[${c}${swapCase(c)}]`;
    } else {
      out += c;
    }
  }
  return out;
}

export class MatcherError extends Error {
  override readonly name = 'MatcherError';
}

/** Compiles a regex for a label matcher, anchored at both ends. Throws MatcherError on bad syntax. */
export function compileAnchoredRegex(pattern: string): RegExp {
  const { source, flags } = toJsRegexSource(pattern);
  try {
    return new RegExp(`^(?:${source})$`, flags);
  } catch (err) {
    throw new MatcherError(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

export function compileMatcher(m: Matcher): CompiledMatcher {
  switch (m.type) {
    case '=':
      return { ...m, matches: (v) => v === m.value };
    case '!=':
      return { ...m, matches: (v) => v !== m.value };
    case '=~': {
      const re = compileAnchoredRegex(m.value);
      return { ...m, matches: (v) => re.test(v) };
    }
    case '!~': {
      const re = compileAnchoredRegex(m.value);
      return { ...m, matches: (v) => !re.test(v) };
    }
  }
}

/** True when every matcher accepts the label set (absent labels count as ""). */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) {
    let value = '';
    for (const l of labels) {
      if (l.name === m.name) {
        value = l.value;
        break;
      }
    }
    if (!m.matches(value)) return false;
  }
  return true;
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}
