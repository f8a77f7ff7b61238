/**
 * A strict JSON validator over UTF-8 bytes for the common shape of a structured log line: one
 * object whose keys are printable ASCII without escapes. It records where each top-level
 * member's key and value start and end, the value's kind, and whether a string value has escapes
 * or non-ASCII characters, without building any value, so the JSON-lines decoder can copy texts
 * as bytes. Anything else (invalid JSON or UTF-8, escaped or non-ASCII keys, deep nesting) is
 * declined, never guessed: the caller then decodes the line with JSON.parse, which also words
 * the error of an invalid line.
 */

/** Kinds of member values. */
export const KIND_STRING = 1;
export const KIND_NUMBER = 2;
const KIND_OBJECT = 3;
const KIND_ARRAY = 4;
const KIND_LITERAL = 5;
export const KIND_NULL = 6;

/** Flags of a string value: it has escape sequences, it has non-ASCII (valid UTF-8) characters. */
export const STRING_ESCAPED = 1;
export const STRING_NON_ASCII = 2;

/** Deeper nesting is declined (JSON.parse handles it). */
const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

export class JsonObjectScan {
  /** Members found by the last successful scan. */
  count = 0;
  /** Per member: the index of its key's first byte and of its closing quote. */
  readonly keyStart: Int32Array;
  readonly keyEnd: Int32Array;
  /** Per member: where its value starts and the index just after it. */
  readonly valueStart: Int32Array;
  readonly valueEnd: Int32Array;
  readonly kind: Uint8Array;
  /** Per member: STRING_ESCAPED and STRING_NON_ASCII of a string value, else 0. */
  readonly stringFlags: Uint8Array;

  private src: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private limit = 0;
  /** Flags of the last string read. */
  private flags = 0;

  constructor(readonly capacity = 128) {
    this.keyStart = new Int32Array(capacity);
    this.keyEnd = new Int32Array(capacity);
    this.valueStart = new Int32Array(capacity);
    this.valueEnd = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.stringFlags = new Uint8Array(capacity);
  }

  /**
   * Whether bytes[start, end) is exactly one JSON object (JSON whitespace around it allowed) in
   * valid UTF-8, with at most `capacity` members whose keys are printable ASCII without escapes.
   */
  scan(bytes: Uint8Array, start: number, end: number): boolean {
    this.src = bytes;
    this.pos = start;
    this.limit = end;
    this.count = 0;
    this.space();
    if (this.at() !== OPEN_BRACE) return false;
    this.pos++;
    this.space();
    if (this.at() === CLOSE_BRACE) {
      this.pos++;
      return this.atEnd();
    }
    for (let n = 0; ; n++) {
      if (n === this.capacity || this.at() !== QUOTE) return false;
      this.keyStart[n] = this.pos + 1;
      if (!this.string() || this.flags !== 0) return false;
      this.keyEnd[n] = this.pos - 1;
      this.space();
      if (this.at() !== COLON) return false;
      this.pos++;
      this.space();
      this.valueStart[n] = this.pos;
      const kind = this.value(1);
      if (kind === 0) return false;
      this.kind[n] = kind;
      this.stringFlags[n] = kind === KIND_STRING ? this.flags : 0;
      this.valueEnd[n] = this.pos;
      this.count = n + 1;
      this.space();
      const c = this.at();
      this.pos++;
      if (c === CLOSE_BRACE) return this.atEnd();
      if (c !== COMMA) return false;
      this.space();
    }
  }

  /** Only whitespace is left. */
  private atEnd(): boolean {
    this.space();
    return this.pos === this.limit;
  }

  /** The byte at the position, -1 past the end. */
  private at(): number {
    return this.pos < this.limit ? this.src[this.pos]! : -1;
  }

  private space(): void {
    while (this.pos < this.limit) {
      const c = this.src[this.pos]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  /** The value at the position: its kind, or 0 when invalid or declined. */
  private value(depth: number): number {
    const c = this.at();
    if (c === QUOTE) return this.string() ? KIND_STRING : 0;
    if (c === OPEN_BRACE) return this.object(depth + 1) ? KIND_OBJECT : 0;
    if (c === OPEN_BRACKET) return this.array(depth + 1) ? KIND_ARRAY : 0;
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number() ? KIND_NUMBER : 0;
    if (c === TRUE[0]) return this.word(TRUE) ? KIND_LITERAL : 0;
    if (c === FALSE[0]) return this.word(FALSE) ? KIND_LITERAL : 0;
    if (c === NULL[0]) return this.word(NULL) ? KIND_NULL : 0;
    return 0;
  }

  /**
   * A string, from its opening quote to just after its closing one: escapes as JSON has them,
   * characters as valid UTF-8 (no overlong forms or surrogates), no control characters. Sets flags.
   */
  private string(): boolean {
    const src = this.src;
    const limit = this.limit;
    let flags = 0;
    let p = this.pos + 1;
    while (p < limit) {
      const c = src[p]!;
      if (c === QUOTE) {
        this.pos = p + 1;
        this.flags = flags;
        return true;
      }
      if (c < 0x20) return false;
      if (c === BACKSLASH) {
        const e = p + 1 < limit ? src[p + 1]! : -1;
        if (e === 0x75) {
          if (p + 6 > limit) return false;
          for (let k = p + 2; k < p + 6; k++) if (!isHexDigit(src[k]!)) return false;
          p += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
        } else {
          return false;
        }
        flags |= STRING_ESCAPED;
        continue;
      }
      if (c >= 0x80) {
        const length = utf8SequenceLength(src, p, limit);
        if (length === 0) return false;
        p += length;
        flags |= STRING_NON_ASCII;
        continue;
      }
      p++;
    }
    return false;
  }

  private digits(): number {
    const from = this.pos;
    while (this.pos < this.limit) {
      const c = this.src[this.pos]!;
      if (c < ZERO || c > NINE) break;
      this.pos++;
    }
    return this.pos - from;
  }

  /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(): boolean {
    if (this.at() === MINUS) this.pos++;
    const first = this.at();
    if (first === ZERO) this.pos++;
    else if (this.digits() === 0) return false;
    if (this.at() === DOT) {
      this.pos++;
      if (this.digits() === 0) return false;
    }
    const e = this.at();
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = this.at();
      if (sign === PLUS || sign === MINUS) this.pos++;
      if (this.digits() === 0) return false;
    }
    return true;
  }

  private word(bytes: readonly number[]): boolean {
    if (this.pos + bytes.length > this.limit) return false;
    for (let i = 0; i < bytes.length; i++) if (this.src[this.pos + i] !== bytes[i]) return false;
    this.pos += bytes.length;
    return true;
  }

  private object(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    this.pos++;
    this.space();
    if (this.at() === CLOSE_BRACE) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (this.at() !== QUOTE || !this.string()) return false;
      this.space();
      if (this.at() !== COLON) return false;
      this.pos++;
      this.space();
      if (this.value(depth) === 0) return false;
      this.space();
      const c = this.at();
      this.pos++;
      if (c === CLOSE_BRACE) return true;
      if (c !== COMMA) return false;
      this.space();
    }
  }

  private array(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    this.pos++;
    this.space();
    if (this.at() === CLOSE_BRACKET) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (this.value(depth) === 0) return false;
      this.space();
      const c = this.at();
      this.pos++;
      if (c === CLOSE_BRACKET) return true;
      if (c !== COMMA) return false;
      this.space();
    }
  }
}

function isHexDigit(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function isContinuation(src: Uint8Array, i: number, limit: number, low = 0x80, high = 0xbf): boolean {
  return i < limit && src[i]! >= low && src[i]! <= high;
}

/** The length of the valid UTF-8 sequence starting with the non-ASCII byte at `i`, 0 when invalid (RFC 3629). */
function utf8SequenceLength(src: Uint8Array, i: number, limit: number): number {
  const c = src[i]!;
  if (c >= 0xc2 && c <= 0xdf) return isContinuation(src, i + 1, limit) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const low = c === 0xe0 ? 0xa0 : 0x80;
    const high = c === 0xed ? 0x9f : 0xbf;
    return isContinuation(src, i + 1, limit, low, high) && isContinuation(src, i + 2, limit) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const low = c === 0xf0 ? 0x90 : 0x80;
    const high = c === 0xf4 ? 0x8f : 0xbf;
    return isContinuation(src, i + 1, limit, low, high) && isContinuation(src, i + 2, limit) && isContinuation(src, i + 3, limit) ? 4 : 0;
  }
  return 0;
}
