/** Float helpers with Go's semantics where PromQL results depend on them. */

/** Scratch pair returned by kahanInc to avoid allocating: [sum, compensation]. */
export const kahanOut = new Float64Array(2);

/** Neumaier-compensated summation step, as Prometheus's kahansum.Inc; writes kahanOut. */
export function kahanInc(inc: number, sum: number, c: number): void {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  kahanOut[0] = t;
  kahanOut[1] = c;
}

/** Go's math.Pow, which differs from `**` for a base of ±1 and NaN exponents. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Sorts ascending with NaN first, as Prometheus's vectorByValueHeap does. */
function sortNaNFirst(values: Float64Array): Float64Array {
  return values.sort((a, b) => (a !== a ? (b !== b ? 0 : -1) : b !== b ? 1 : a - b));
}

/** Prometheus's quantile over values (sorted in place): linear interpolation between ranks. */
export function quantileOf(q: number, values: Float64Array): number {
  if (values.length === 0 || q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortNaNFirst(values);
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return values[lower]! * (1 - weight) + values[upper]! * weight;
}

/**
 * Formats a float like Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest round-tripping
 * digits, never in exponent form. NaN and infinities as Prometheus prints them.
 */
export function formatFloat(f: number): string {
  if (f !== f) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const s = String(f);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const intLen = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (intLen <= 0) out = `0.${'0'.repeat(-intLen)}${digits}`;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  return neg ? `-${out}` : out;
}
