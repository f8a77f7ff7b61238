/**
 * Function sets for templates: Go's built-ins, the functions Prometheus offers in rule templates,
 * and the ones Alertmanager offers in notification templates.
 */
import { compileAnchoredRegex } from '../model/matchers.js';
import { formatGoValue, goSprintf, GoDuration } from './go-format.js';
import { GoTime } from './go-time.js';
import { isTrue, TemplateArgumentTypeError, type TemplateFunction } from './go-template-exec.js';
import { humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp, toFloat } from './humanize.js';
import { KV } from './kv.js';

function lengthOf(v: unknown): bigint {
  return BigInt(lengthAsNumber(v));
}

function lengthAsNumber(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v !== null && typeof v === 'object') return Object.keys(v).length;
  throw new Error(`len of type ${typeof v}`);
}

const isNumeric = (v: unknown): v is number | bigint => typeof v === 'number' || typeof v === 'bigint';

function compare(a: unknown, b: unknown): number {
  if (isNumeric(a) && isNumeric(b)) return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : NaN;
  throw new Error('incompatible types for comparison');
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error('missing argument for comparison');
  for (const b of rest) {
    if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
    if (a === null || a === undefined || b === null || b === undefined) continue;
    if (compare(a, b) === 0) return true;
  }
  return false;
}

/** Go's text/template built-in functions. */
export const goBuiltins: Readonly<Record<string, TemplateFunction>> = {
  and: (...args) => {
    for (const a of args) if (!isTrue(a)) return a;
    return args[args.length - 1];
  },
  or: (...args) => {
    for (const a of args) if (isTrue(a)) return a;
    return args[args.length - 1];
  },
  not: (a) => !isTrue(a),
  len: (a) => lengthOf(a),
  index: (coll, ...keys) => {
    let v = coll;
    for (const k of keys) {
      if (Array.isArray(v) && isNumeric(k)) {
        const i = Number(k);
        if (i < 0 || i >= v.length) throw new Error(`index out of range: ${i}`);
        v = v[i];
      } else if (v instanceof Map) v = v.has(k) ? v.get(k) : '';
      else if (v !== null && typeof v === 'object' && typeof k === 'string') v = (v as Record<string, unknown>)[k];
      else throw new Error(`can't index item of type ${typeof v}`);
    }
    return v;
  },
  slice: (v, ...idx) => {
    if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`can't slice item of type ${typeof v}`);
    const [from = 0, to = v.length] = idx.map(Number);
    return v.slice(from, to);
  },
  eq,
  ne: (a, b) => !eq(a, b),
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  print: (...args) => {
    // fmt.Sprint adds spaces between operands when neither side is a string.
    let out = '';
    args.forEach((a, i) => {
      if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
      out += formatGoValue(a);
    });
    return out;
  },
  println: (...args) => `${args.map(formatGoValue).join(' ')}\n`,
  printf: (format, ...args) => goSprintf(String(format), args),
  html: (...args) =>
    args
      .map(formatGoValue)
      .join('')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;'),
  js: (...args) => JSON.stringify(args.map(formatGoValue).join('')).slice(1, -1).replace(/</g, '\\u003C').replace(/>/g, '\\u003E').replace(/'/g, "\\'"),
  urlquery: (...args) => encodeURIComponent(args.map(formatGoValue).join('')).replace(/%20/g, '+'),
};

/** Go's strings.Title: upper-cases the first letter of each word. */
function title(s: unknown): string {
  return String(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** Go regexp replacement syntax (`$1`, `${1}`, `${name}`) to JavaScript's. */
function jsReplacement(repl: string): string {
  return repl.replace(/\$\{(\d+)\}/g, '$$$1').replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, '$$<$1>');
}

function compileUnanchored(pattern: string): RegExp {
  const anchored = compileAnchoredRegex(pattern);
  // compileAnchoredRegex validates and translates RE2 syntax; strip its anchors for search semantics.
  return new RegExp(anchored.source.slice(4, -2), `${anchored.flags}g`);
}

const textFunctions: Readonly<Record<string, TemplateFunction>> = {
  toUpper: (s) => String(s).toUpperCase(),
  toLower: (s) => String(s).toLowerCase(),
  title,
  match: (pattern, text) => compileUnanchored(String(pattern)).test(String(text)),
  reReplaceAll: (pattern, repl, text) => String(text).replace(compileUnanchored(String(pattern)), jsReplacement(String(repl))),
  safeHtml: (s) => String(s),
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
};

/** A sample as Prometheus's `query` returns it to templates. */
export interface TemplateSample {
  readonly Labels: KV;
  readonly Value: number;
}

function isSample(v: unknown): v is TemplateSample {
  return v !== null && typeof v === 'object' && 'Labels' in v && 'Value' in v;
}

/** Whether a `*sample` argument is a sample rather than nil; any other value is a type error, as in Go. */
function isSampleArgument(v: unknown): v is TemplateSample {
  if (v !== null && v !== undefined && !isSample(v)) throw new TemplateArgumentTypeError('*template.sample', v);
  return isSample(v);
}

/**
 * What Prometheus puts before every alerting-rule label and annotation template, so `$labels`,
 * `$externalLabels`, `$externalURL` and `$value` exist. The data is
 * `{ Labels: KV, ExternalLabels: KV, ExternalURL: string, Value: number }`.
 */
export const PROMETHEUS_RULE_TEMPLATE_DEFS = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

export interface PrometheusFunctionOptions {
  /** Runs an instant PromQL query at the rule's evaluation time. */
  readonly query: (expr: string) => Promise<TemplateSample[]>;
  readonly externalURL: string;
}

/** The functions Prometheus offers in alerting rule labels and annotations. */
export function prometheusFunctions(opts: PrometheusFunctionOptions): Record<string, TemplateFunction> {
  const pathPrefix = (() => {
    try {
      return new URL(opts.externalURL).pathname.replace(/\/$/, '');
    } catch {
      return '';
    }
  })();
  return {
    ...goBuiltins,
    ...textFunctions,
    query: (expr) => opts.query(String(expr)),
    first: (v) => {
      if (!Array.isArray(v) && v !== null && v !== undefined) throw new TemplateArgumentTypeError('template.queryResult', v);
      if (!Array.isArray(v) || v.length === 0) throw new Error('first() called on vector with no elements');
      return v[0];
    },
    label: (name, sample) => (isSampleArgument(sample) ? (sample.Labels.get(String(name)) ?? '') : ''),
    value: (sample) => (isSampleArgument(sample) ? sample.Value : NaN),
    strvalue: (sample) => (isSampleArgument(sample) ? (sample.Labels.get('__value__') ?? '') : ''),
    args: (...args) => new Map(args.map((a, i) => [`arg${i}`, a])),
    sortByLabel: (name, v) => {
      if (!Array.isArray(v) && v !== null && v !== undefined) throw new TemplateArgumentTypeError('template.queryResult', v);
      if (!Array.isArray(v)) return v;
      const key = (s: TemplateSample) => s.Labels.get(String(name)) ?? '';
      // Byte order, as Go compares strings; the sort is stable like Prometheus's sort.Stable.
      return [...(v as TemplateSample[])].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    },
    stripPort: (host) => {
      const s = String(host);
      const m = /^\[(.*)\]:\d+$/.exec(s) ?? /^([^:]*):\d+$/.exec(s);
      return m ? m[1]! : s;
    },
    stripDomain: (host) => {
      const s = String(host);
      const port = /:\d+$/.exec(s)?.[0] ?? '';
      const name = s.slice(0, s.length - port.length);
      return /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.startsWith('[') ? s : name.split('.')[0] + port;
    },
    toTime: (v) => new GoTime(toFloat(v) * 1000),
    graphLink: (expr) => `${pathPrefix}/graph?g0.expr=${encodeURIComponent(String(expr))}&g0.tab=0`,
    tableLink: (expr) => `${pathPrefix}/graph?g0.expr=${encodeURIComponent(String(expr))}&g0.tab=1`,
    externalURL: () => opts.externalURL,
    pathPrefix: () => pathPrefix,
  };
}

/** The functions Alertmanager offers in notification templates. */
export function alertmanagerFunctions(now: () => number): Record<string, TemplateFunction> {
  return {
    ...goBuiltins,
    ...textFunctions,
    join: (sep, items) => (Array.isArray(items) ? items.map(formatGoValue).join(String(sep)) : formatGoValue(items)),
    trimSpace: (s) => String(s).trim(),
    stringSlice: (...s) => s.map(String),
    since: (t) => {
      if (!(t instanceof GoTime)) throw new Error(`since: expected a time, got ${formatGoValue(t)}`);
      return new GoDuration(now() - t.ms);
    },
  };
}
