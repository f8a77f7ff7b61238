/**
 * W3C trace and span ids (lowercase hex, 32 and 16 digits) as 64-bit integer columns: a span id
 * is one BIGINT, a trace id two (high and low 64 bits). 0 stands for "no id", which W3C forbids
 * as an id, so the columns need no NULLs and are written as typed arrays without a BigInt per row.
 */

const TRACE_HEX_RE = /^[0-9a-f]{32}$/;
const SPAN_HEX_RE = /^[0-9a-f]{16}$/;
const ALL_ZERO_RE = /^0+$/;

/** Whether a trace id goes to the integer columns (else it is kept as text). */
export function isBinaryTraceId(id: string): boolean {
  return TRACE_HEX_RE.test(id) && !ALL_ZERO_RE.test(id);
}

/** Whether a span id goes to the integer column (else it is kept as text). */
export function isBinarySpanId(id: string): boolean {
  return SPAN_HEX_RE.test(id) && !ALL_ZERO_RE.test(id);
}

/**
 * Writes the 16 hex digits of `hex` from `offset` as row `row` of a BigInt64Array viewed as
 * little-endian 32-bit halves.
 */
export function writeHex64(halves: Uint32Array, row: number, hex: string, offset: number): void {
  halves[2 * row + 1] = parseInt(hex.slice(offset, offset + 8), 16);
  halves[2 * row] = parseInt(hex.slice(offset + 8, offset + 16), 16);
}

/** The 16 hex digits of a stored 64-bit id value, or '' for 0 or NULL. */
export function hex64(value: unknown): string {
  if (typeof value !== 'bigint' || value === 0n) return '';
  return BigInt.asUintN(64, value).toString(16).padStart(16, '0');
}

/** The stored (signed) BIGINT value of 16 hex digits, as an SQL literal. */
export function int64Literal(hex: string): string {
  return BigInt.asIntN(64, BigInt(`0x${hex}`)).toString();
}

/** A trace id from its text column or its two integer columns ('' when none). */
export function traceIdOf(text: unknown, hi: unknown, lo: unknown): string {
  if (typeof text === 'string') return text;
  if ((typeof hi !== 'bigint' || hi === 0n) && (typeof lo !== 'bigint' || lo === 0n)) return '';
  return `${hex64(hi) || '0'.repeat(16)}${hex64(lo) || '0'.repeat(16)}`;
}
