/**
 * Character-level helpers of the exposition parser: character classes, number syntax (Go's
 * ParseFloat/ParseInt subset Prometheus accepts) and unescaping. Everything works on char codes
 * over [start, end) ranges of the body, so the hot path creates no substrings.
 */

export const CH_TAB = 9;
export const CH_LF = 10;
export const CH_SPACE = 32;
export const CH_QUOTE = 34;
export const CH_HASH = 35;
export const CH_PLUS = 43;
export const CH_COMMA = 44;
export const CH_MINUS = 45;
export const CH_DOT = 46;
export const CH_EQUALS = 61;
export const CH_BACKSLASH = 92;
export const CH_LBRACE = 123;
export const CH_RBRACE = 125;

/** First character of a legacy metric name: [a-zA-Z_:]. */
export function isMetricNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}

/** Later characters of a legacy metric name: [a-zA-Z0-9_:]. */
export function isMetricNameChar(c: number): boolean {
  return isMetricNameStart(c) || (c >= 48 && c <= 57);
}

/** First character of a legacy label name: [a-zA-Z_]. */
export function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/** Later characters of a legacy label name: [a-zA-Z0-9_]. */
export function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || (c >= 48 && c <= 57);
}

export function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Lower-cases an ASCII letter code, leaving other codes unchanged. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function equalsIgnoreCase(text: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(text.charCodeAt(start + i)) !== word.charCodeAt(i)) return false;
  return true;
}

/** Exact powers of ten: every 10^k for k <= 22 is representable in a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const TWO_53 = 2 ** 53;

/**
 * Parses a float as Go's strconv.ParseFloat does for the forms exporters use: decimal with an
 * optional sign, fraction and exponent, or (case-insensitively, optionally signed) `Inf`,
 * `Infinity` and `NaN`. Returns undefined when the text is not a number.
 *
 * Most values take Clinger's fast path without creating a substring: when the digits form an
 * integer below 2^53 and the decimal exponent is within ±22, one exact multiplication or division
 * by an exact power of ten is correctly rounded, so the result equals Number(text). Others fall
 * back to Number().
 */
export function parseFloatRange(text: string, start: number, end: number): number | undefined {
  if (start >= end) return undefined;
  let i = start;
  let negative = false;
  const first = text.charCodeAt(i);
  if (first === CH_PLUS || first === CH_MINUS) {
    negative = first === CH_MINUS;
    i++;
  }
  if (i < end && !isDigit(text.charCodeAt(i)) && text.charCodeAt(i) !== CH_DOT) {
    if (equalsIgnoreCase(text, i, end, 'inf') || equalsIgnoreCase(text, i, end, 'infinity')) return negative ? -Infinity : Infinity;
    if (equalsIgnoreCase(text, i, end, 'nan')) return NaN;
    return undefined;
  }
  let mantissa = 0;
  let digits = 0;
  let c = 0;
  while (i < end && isDigit((c = text.charCodeAt(i)))) {
    mantissa = mantissa * 10 + (c - 48);
    digits++;
    i++;
  }
  let fractionDigits = 0;
  if (i < end && text.charCodeAt(i) === CH_DOT) {
    i++;
    while (i < end && isDigit((c = text.charCodeAt(i)))) {
      mantissa = mantissa * 10 + (c - 48);
      fractionDigits++;
      i++;
    }
  }
  if (digits + fractionDigits === 0) return undefined;
  let exponent = 0;
  if (i < end && lower(text.charCodeAt(i)) === 101) {
    i++;
    let negativeExponent = false;
    if (i < end && (text.charCodeAt(i) === CH_PLUS || text.charCodeAt(i) === CH_MINUS)) negativeExponent = text.charCodeAt(i++) === CH_MINUS;
    const expStart = i;
    while (i < end && isDigit((c = text.charCodeAt(i))) && exponent < 100_000) {
      exponent = exponent * 10 + (c - 48);
      i++;
    }
    if (i === expStart) return undefined;
    while (i < end && isDigit(text.charCodeAt(i))) i++; // Beyond any double's range either way.
    if (negativeExponent) exponent = -exponent;
  }
  if (i !== end) return undefined;
  const scale = exponent - fractionDigits;
  // The mantissa accumulated exactly only while below 2^53.
  if (mantissa < TWO_53 && scale >= -22 && scale <= 22) {
    const value = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
    return negative ? -value : value;
  }
  return Number(text.slice(start, end));
}

/** Parses an optionally signed decimal integer (Go's ParseInt base 10). Returns undefined otherwise. */
export function parseIntRange(text: string, start: number, end: number): number | undefined {
  let i = start;
  let negative = false;
  const first = text.charCodeAt(i);
  if (first === CH_PLUS || first === CH_MINUS) {
    negative = first === CH_MINUS;
    i++;
  }
  if (i >= end) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    n = n * 10 + (c - 48);
  }
  if (!Number.isSafeInteger(n)) return undefined;
  return negative ? -n : n;
}

/**
 * Unescapes a quoted string's content. `\\`, `\n` and (when `quotes`) `\"` are escapes; any other
 * backslash sequence is kept verbatim, as Prometheus does.
 */
export function unescapeRange(text: string, start: number, end: number, quotes: boolean): string {
  let out = '';
  let from = start;
  for (let i = start; i < end - 1; i++) {
    if (text.charCodeAt(i) !== CH_BACKSLASH) continue;
    const next = text.charCodeAt(i + 1);
    let replacement: string | null = null;
    if (next === CH_BACKSLASH) replacement = '\\';
    else if (next === 110) replacement = '\n';
    else if (next === CH_QUOTE && quotes) replacement = '"';
    if (replacement === null) continue;
    out += text.slice(from, i) + replacement;
    i++;
    from = i + 1;
  }
  return out + text.slice(from, end);
}

/**
 * Returns a copy of `s` that does not share memory with the string it was sliced from. V8 keeps
 * a slice's whole parent alive; strings that outlive a scrape (labels, cache keys) must not pin
 * the response body. Concatenating then slicing forces a fresh flat string of just these chars.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** A short, printable excerpt of the text at `start` for error messages: the next token, or "end of line". */
export function describeAt(text: string, start: number, end: number): string {
  if (start >= end) return 'end of line';
  let stop = start;
  while (stop < end && stop - start < 24 && !isBlank(text.charCodeAt(stop))) stop++;
  if (stop === start) return text.charCodeAt(start) === CH_TAB ? 'a tab' : 'a space';
  return JSON.stringify(text.slice(start, stop));
}
