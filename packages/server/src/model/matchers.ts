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
  return { source, flags };
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
