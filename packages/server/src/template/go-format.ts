/**
 * Go's value printing as templates show it: `%v` formatting of strings, numbers, booleans, slices,
 * maps and times, and a `printf` covering the verbs templates use (%s %v %d %f %e %g %q %x %X %t %%
 * with flags, width and precision).
 */

/**
 * Formats a float64 the way Go's `%v` and `%g` do: the shortest representation, in exponent form
 * when the decimal exponent is below -4 or at least 6 (strconv's 'g' with precision -1), so
 * 1500000000 prints as `1.5e+09`. Go ints are BigInts here and print as plain digits.
 */
export function formatGoFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const shortest = n.toExponential();
  const exp = Number(shortest.slice(shortest.indexOf('e') + 1));
  if (exp < -4 || exp >= 6) return goExponent(shortest);
  return String(n);
}

/** JavaScript writes `1e-5`, Go `1e-05`: exponents have at least two digits. */
function goExponent(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Formats a Date as Go prints a UTC time.Time: `2006-01-02 15:04:05.999 +0000 UTC`. */
export function formatGoTime(d: Date): string {
  const ms = d.getUTCMilliseconds();
  const frac = ms === 0 ? '' : `.${String(ms).padStart(3, '0').replace(/0+$/, '')}`;
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac} +0000 UTC`;
}

/** A Go time.Duration value: prints as Go does (`1h2m3.5s`, `250ms`, `0s`). */
export class GoDuration {
  constructor(readonly ms: number) {}

  String(): string {
    return formatGoDuration(this.ms);
  }
}

/** Go's Duration.String() for a duration in milliseconds. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${formatGoFloat(rest)}ms`;
  const h = Math.floor(rest / 3600_000);
  rest -= h * 3600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = formatGoFloat(Math.round(rest) / 1000);
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

/** Go's `%v` of a value; undefined (a missing value) prints as `<no value>`. */
export function formatGoValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatGoFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return formatGoTime(v);
  if (Array.isArray(v)) return `[${v.map(formatGoValue).join(' ')}]`;
  if (v instanceof Map) return `map[${[...v.keys()].sort().map((k) => `${String(k)}:${formatGoValue(v.get(k))}`).join(' ')}]`;
  if (typeof v === 'object') {
    // Values with a String method print through it, as Go's fmt uses the Stringer interface.
    const s = (v as { String?: unknown }).String;
    if (typeof s === 'function') return String((s as () => unknown).call(v));
    return `map[${Object.keys(v).sort().map((k) => `${k}:${formatGoValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return null;
  return null;
}

function padTo(s: string, width: number, left: boolean, zero: boolean): string {
  if (s.length >= width) return s;
  if (left) return s + ' '.repeat(width - s.length);
  if (zero) {
    const sign = s[0] === '-' || s[0] === '+' ? s[0] : '';
    return sign + '0'.repeat(width - s.length) + s.slice(sign.length);
  }
  return ' '.repeat(width - s.length) + s;
}

/** Go's fmt.Sprintf for the verbs templates use; wrong arguments print like Go's `%!d(string=x)`. */
export function goSprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argIndex = 0;
  const re = /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags = '', widthText, precText, verb] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    let width = 0;
    if (widthText === '*') width = Number(args[argIndex++] ?? 0);
    else if (widthText) width = Number(widthText);
    let prec: number | null = null;
    if (precText === '*') prec = Number(args[argIndex++] ?? 0);
    else if (precText !== undefined) prec = Number(precText);
    else if (m[0].includes('.')) prec = 0;
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argIndex++];
    const plus = flags.includes('+');
    const sign = (n: number, s: string): string => (n >= 0 && plus ? `+${s}` : n >= 0 && flags.includes(' ') ? ` ${s}` : s);
    let s: string;
    const num = toNumber(arg);
    switch (verb) {
      case 's':
      case 'v':
        s = formatGoValue(arg);
        if (prec !== null && verb === 's') s = s.slice(0, prec);
        break;
      case 'q':
        s = typeof arg === 'string' ? JSON.stringify(arg) : `%!q(${formatGoValue(arg)})`;
        break;
      case 't':
        s = typeof arg === 'boolean' ? String(arg) : `%!t(${formatGoValue(arg)})`;
        break;
      case 'd':
        s = num !== null && Number.isInteger(num) ? sign(num, String(num)) : `%!d(${typeof arg}=${formatGoValue(arg)})`;
        break;
      case 'f':
      case 'F':
        s = num !== null ? sign(num, Number.isFinite(num) ? num.toFixed(prec ?? 6) : formatGoFloat(num)) : `%!f(${typeof arg}=${formatGoValue(arg)})`;
        break;
      case 'e':
      case 'E':
        s = num !== null ? sign(num, goExponent(num.toExponential(prec ?? 6))) : `%!e(${typeof arg}=${formatGoValue(arg)})`;
        if (verb === 'E') s = s.toUpperCase();
        break;
      case 'g':
      case 'G':
        s = num !== null ? sign(num, prec === null ? formatGoFloat(num) : goExponent(String(Number(num.toPrecision(prec || 1))))) : `%!g(${typeof arg}=${formatGoValue(arg)})`;
        break;
      case 'x':
      case 'X':
        if (num !== null && Number.isInteger(num)) s = num.toString(16);
        else if (typeof arg === 'string') s = Buffer.from(arg, 'utf8').toString('hex');
        else s = `%!x(${formatGoValue(arg)})`;
        if (verb === 'X') s = s.toUpperCase();
        break;
      default:
        s = `%!${verb}(${formatGoValue(arg)})`;
    }
    out += padTo(s, width, flags.includes('-'), flags.includes('0') && verb !== 's' && verb !== 'v' && verb !== 'q');
  }
  out += format.slice(last);
  if (argIndex < args.length) out += `%!(EXTRA ${args.slice(argIndex).map((a) => `${typeof a}=${formatGoValue(a)}`).join(', ')})`;
  return out;
}
