/**
 * W3C trace and span ids (lowercase hex, 32 and 16 digits) as 64-bit integer columns: a span id
 * is one BIGINT, a trace id two (high and low 64 bits). 0 stands for "no id", which W3C forbids
 * as an id, so the columns need no NULLs and are written as typed arrays without a BigInt per row.
 */

/** Value of each lowercase hex digit by char code, -1 for any other character. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

/**
 * Writes a W3C id of `words` 32-bit words (lowercase hex, not all zero: trace ids 4, span ids 2)
 * into row `row` of one or two BigInt64Arrays viewed as little-endian 32-bit halves: the first
 * 16 digits into `high`, the next 16 into `low`. Returns false, writing nothing, for any other
 * text, which the caller keeps as text.
 */
export function writeHexId(text: string, words: 2 | 4, row: number, high: Uint32Array, low: Uint32Array | null): boolean {
  if (text.length !== words * 8) return false;
  const w = WORDS;
  w.fill(0);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? HEX_VALUE[code]! : -1;
    if (digit < 0) return false;
    w[i >>> 3] = w[i >>> 3]! * 16 + digit;
  }
  return storeWords(row, high, low);
}

/** writeHexId for an id given as bytes[start, end) (ASCII). */
export function writeHexIdBytes(bytes: Uint8Array, start: number, end: number, words: 2 | 4, row: number, high: Uint32Array, low: Uint32Array | null): boolean {
  if (end - start !== words * 8) return false;
  const w = WORDS;
  w.fill(0);
  for (let i = 0; i < end - start; i++) {
    const code = bytes[start + i]!;
    const digit = code < 128 ? HEX_VALUE[code]! : -1;
    if (digit < 0) return false;
    w[i >>> 3] = w[i >>> 3]! * 16 + digit;
  }
  return storeWords(row, high, low);
}

/** The 32-bit words of the id being converted (a Float64Array: 8 hex digits may exceed int32). */
const WORDS = new Float64Array(4);

/** Stores WORDS unless they are all zero (no id). */
function storeWords(row: number, high: Uint32Array, low: Uint32Array | null): boolean {
  const w = WORDS;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0) return false;
  high[2 * row + 1] = w[0]!;
  high[2 * row] = w[1]!;
  if (low !== null) {
    low[2 * row + 1] = w[2]!;
    low[2 * row] = w[3]!;
  }
  return true;
}

/** The 16 hex digits of a stored (signed) 64-bit id value. */
export function hexOfInt64(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16).padStart(16, '0');
}

/** The 16 hex digits of a stored 64-bit id value, or '' for 0 or NULL. */
export function hex64(value: unknown): string {
  return typeof value !== 'bigint' || value === 0n ? '' : hexOfInt64(value);
}

/** The stored (signed) BIGINT value of 16 hex digits. */
export function int64OfHex(hex: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${hex}`));
}

/** Whether a span id is stored in the integer column (16 lowercase hex digits, not all zero). */
export function isBinarySpanId(id: string): boolean {
  return writeHexId(id, 2, 0, SCRATCH, null);
}

const SCRATCH = new Uint32Array(2);

/** The stored (signed) BIGINT value of 16 hex digits, as an SQL literal. */
export function int64Literal(hex: string): string {
  return int64OfHex(hex).toString();
}

/** A trace id from its text column or its two integer columns ('' when none). */
export function traceIdOf(text: unknown, hi: unknown, lo: unknown): string {
  if (typeof text === 'string') return text;
  if ((typeof hi !== 'bigint' || hi === 0n) && (typeof lo !== 'bigint' || lo === 0n)) return '';
  return hexOfInt64(typeof hi === 'bigint' ? hi : 0n) + hexOfInt64(typeof lo === 'bigint' ? lo : 0n);
}
