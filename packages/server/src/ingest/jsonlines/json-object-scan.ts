/**
 * A strict JSON validator over UTF-8 bytes for the common shape of a structured log line: one
 * object whose strings are printable ASCII without escapes. It records where each top-level
 * member's key and value start and end and the value's kind, without building any value, so the
 * JSON-lines decoder can copy texts as bytes. Anything else (escapes, non-ASCII, control
 * characters, invalid JSON, deep nesting) is declined, never guessed: the caller then decodes the
 * line with JSON.parse, which also words the error of an invalid line.
 */

/** Kinds of member values. */
export const KIND_STRING = 1;
export const KIND_NUMBER = 2;
const KIND_OBJECT = 3;
const KIND_ARRAY = 4;
const KIND_LITERAL = 5;
export const KIND_NULL = 6;

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

  private src: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private limit = 0;

  constructor(readonly capacity = 128) {
    this.keyStart = new Int32Array(capacity);
    this.keyEnd = new Int32Array(capacity);
    this.valueStart = new Int32Array(capacity);
    this.valueEnd = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
  }

  /**
   * Whether bytes[start, end) is exactly one JSON object (JSON whitespace around it allowed) with
   * at most `capacity` members, all of whose strings are printable ASCII without backslashes.
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
      if (!this.string()) return false;
      this.keyEnd[n] = this.pos - 1;
      this.space();
      if (this.at() !== COLON) return false;
      this.pos++;
      this.space();
      this.valueStart[n] = this.pos;
      const kind = this.value(1);
      if (kind === 0) return false;
      this.kind[n] = kind;
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

  /** A string of printable ASCII without escapes, from its opening quote to just after its closing one. */
  private string(): boolean {
    const src = this.src;
    let p = this.pos + 1;
    while (p < this.limit) {
      const c = src[p]!;
      if (c === QUOTE) {
        this.pos = p + 1;
        return true;
      }
      if (c < 0x20 || c === BACKSLASH || c >= 0x80) return false;
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
