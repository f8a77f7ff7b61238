/**
 * A compiled LogQL pipeline. The leading line filters (and exact `level`, `request_id`,
 * `trace_id`, `span_id` label filters) are pushed down to the log store, which evaluates them in
 * its scan; the remaining stages run here, line by line.
 *
 * A line's labels are its stream labels plus `level` (when known and not a stream label; Grafana's
 * `detected_level` is answered with the same value) plus
 * whatever parsers and label_format add. Label filters may also name fields the line carries
 * without them being labels: `request_id`, `trace_id`, `span_id` and its attributes (Loki's
 * structured metadata, OTLP attributes, extra JSON-lines fields; `http.method` also answers to
 * `http_method`). Those are looked up, not added to the result's labels, so metric queries keep
 * one series per stream and level unless a parser extracts more.
 */
import { compileAnchoredRegex, compileMatcher } from '../model/matchers.js';
import type { Labels } from '../model/labels.js';
import type { StoredLogRecord } from '../model/log-record.js';
import type { FieldFilter, LineFilter } from '../storage/log-store.js';
import type { LabelExpr, LabelFormatStage, LabelPredicate, LogSelectorExpr, Stage } from './ast.js';
import { parseDurationNs } from './lexer.js';

/** Labels that are lookups of dedicated record fields rather than label-set members. */
const FIELD_LABELS: Readonly<Record<string, keyof FieldFilter>> = {
  level: 'level',
  detected_level: 'level',
  request_id: 'requestId',
  trace_id: 'traceId',
  span_id: 'spanId',
};
const ERROR_LABEL = '__error__';
/** Labels only parsers set: dropping them before any parser (Grafana's volume queries do) is a no-op. */
const ERROR_LABELS = new Set([ERROR_LABEL, '__error_details__']);
const SANITIZE_RE = /[^a-zA-Z0-9_]/g;
const TEMPLATE_RE = /\{\{-?\s*\.([a-zA-Z_][a-zA-Z0-9_]*)\s*-?\}\}/g;

/** A line after the pipeline: its (possibly reformatted) text and its labels. */
export interface PipelineOutput {
  readonly line: string;
  readonly labels: Labels;
}

type StageFn = (ctx: LineContext) => boolean;

/** Mutable per-line state the stages share. */
class LineContext {
  line = '';
  record: StoredLogRecord | null = null;
  readonly labels = new Map<string, string>();
  private flatAttributes: Map<string, string> | null = null;

  reset(record: StoredLogRecord): void {
    this.record = record;
    this.line = record.body;
    this.labels.clear();
    this.flatAttributes = null;
    for (const l of record.stream) this.labels.set(l.name, l.value);
    if (record.level !== '' && !this.labels.has('level')) this.labels.set('level', record.level);
  }

  /** A label's value, falling back to the record's id fields and attributes; '' when absent. */
  get(name: string): string {
    const v = this.labels.get(name);
    if (v !== undefined) return v;
    const r = this.record!;
    if (name === 'request_id') return r.requestId;
    if (name === 'trace_id') return r.traceId;
    if (name === 'span_id') return r.spanId;
    if (name === 'service_name') return r.service;
    if (name === 'detected_level') return r.level;
    this.flatAttributes ??= flattenAttributes(r.attributes);
    return this.flatAttributes.get(name) ?? '';
  }
}

function flattenAttributes(attrs: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(attrs)) {
    const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    out.set(k, text);
    const sanitized = k.replace(SANITIZE_RE, '_');
    if (!out.has(sanitized)) out.set(sanitized, text);
  }
  return out;
}

export class Pipeline {
  /** Line filters the store evaluates. */
  readonly lineFilters: LineFilter[] = [];
  /** Exact field matches the store evaluates. */
  readonly fields: { -readonly [K in keyof FieldFilter]: FieldFilter[K] } = {};
  /** True when every stage was pushed down: the store's rows need no further filtering. */
  readonly fullyPushedDown: boolean;
  private readonly stages: StageFn[] = [];
  private readonly ctx = new LineContext();
  private readonly labelsCache = new Map<string, Labels>();

  /** With `pushDown: false` every stage runs here (live tail, where lines do not come from a store query). */
  constructor(
    readonly selector: LogSelectorExpr,
    options: { readonly pushDown?: boolean } = {},
  ) {
    let i = 0;
    for (; options.pushDown !== false && i < selector.stages.length; i++) {
      const s = selector.stages[i]!;
      if (s.kind === 'line_filter') this.lineFilters.push(pushedLineFilter(s.op, s.value));
      else if (s.kind === 'drop' && s.items.every((item) => ERROR_LABELS.has(item.name))) continue;
      else if (!(s.kind === 'label_filter' && this.pushField(s.expr))) break;
    }
    this.fullyPushedDown = i === selector.stages.length;
    for (; i < selector.stages.length; i++) this.stages.push(compileStage(selector.stages[i]!));
  }

  /** Pushes `name = "value"` on a field label (or an `and` of such); false when not pushable. */
  private pushField(expr: LabelExpr): boolean {
    const preds: { name: string; value: string }[] = [];
    const collect = (e: LabelExpr): boolean => {
      if (e.kind === 'and') return collect(e.left) && collect(e.right);
      if (e.kind !== 'predicate' || (e.op !== '=' && e.op !== '==') || typeof e.value !== 'string') return false;
      if (!(e.name in FIELD_LABELS) || e.value === '') return false;
      preds.push({ name: e.name, value: e.value });
      return true;
    };
    if (!collect(expr)) return false;
    for (const p of preds) {
      const field = FIELD_LABELS[p.name]!;
      if (this.fields[field] !== undefined && this.fields[field] !== p.value) return false;
      this.fields[field] = p.value;
    }
    return true;
  }

  /** Runs the remaining stages over one record; null when the line is filtered out. */
  process(record: StoredLogRecord): PipelineOutput | null {
    if (this.stages.length === 0) return { line: record.body, labels: this.baseLabels(record) };
    const ctx = this.ctx;
    ctx.reset(record);
    for (const stage of this.stages) if (!stage(ctx)) return null;
    const entries = [...ctx.labels].filter(([, v]) => v !== '').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { line: ctx.line, labels: entries.map(([name, value]) => ({ name, value })) };
  }

  /** Stream labels plus level, shared per (stream, level). */
  baseLabels(record: { readonly stream: Labels; readonly level: string }): Labels {
    const stream = record.stream;
    if (record.level === '' || stream.some((l) => l.name === 'level')) return stream;
    const key = `${record.level}\xff${stream.map((l) => `${l.name}\xff${l.value}`).join('\xff')}`;
    let labels = this.labelsCache.get(key);
    if (labels === undefined) {
      labels = [...stream, { name: 'level', value: record.level }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (this.labelsCache.size > 100_000) this.labelsCache.clear();
      this.labelsCache.set(key, labels);
    }
    return labels;
  }
}

function pushedLineFilter(op: string, value: string): LineFilter {
  if (op === '|=') return { op: 'contains', value };
  if (op === '!=') return { op: 'not_contains', value };
  if (op === '|~') return { op: 'regex', value };
  return { op: 'not_regex', value };
}

/** An unanchored RE2-style regex, compiled with the matchers' RE2 → JavaScript translation. */
function searchRegex(pattern: string): RegExp {
  return compileAnchoredRegex(`.*(?:${pattern}).*`);
}

function compileStage(s: Stage): StageFn {
  switch (s.kind) {
    case 'line_filter': {
      if (s.op === '|=') return (c) => c.line.includes(s.value);
      if (s.op === '!=') return (c) => !c.line.includes(s.value);
      const re = searchRegex(s.value);
      return s.op === '|~' ? (c) => re.test(c.line) : (c) => !re.test(c.line);
    }
    case 'label_filter': {
      const test = compileLabelExpr(s.expr);
      return (c) => test(c);
    }
    case 'json':
      return s.params.length === 0 ? jsonAll : jsonParams(s.params);
    case 'logfmt':
      return logfmt;
    case 'line_format':
      return (c) => {
        c.line = render(s.template, c);
        return true;
      };
    case 'label_format':
      return labelFormat(s);
    case 'drop':
      return (c) => {
        for (const item of s.items) if (item.value === null || c.labels.get(item.name) === item.value) c.labels.delete(item.name);
        return true;
      };
    case 'keep':
      return (c) => {
        for (const name of [...c.labels.keys()]) {
          if (!s.items.some((item) => item.name === name && (item.value === null || item.value === c.labels.get(name)))) c.labels.delete(name);
        }
        return true;
      };
  }
}

function compileLabelExpr(e: LabelExpr): (c: LineContext) => boolean {
  if (e.kind === 'predicate') return compilePredicate(e);
  const l = compileLabelExpr(e.left);
  const r = compileLabelExpr(e.right);
  return e.kind === 'and' ? (c) => l(c) && r(c) : (c) => l(c) || r(c);
}

function compilePredicate(e: LabelPredicate): (c: LineContext) => boolean {
  const { name, op, value } = e;
  if (typeof value === 'string') {
    const m = compileMatcher({ type: op === '==' ? '=' : (op as '=' | '!=' | '=~' | '!~'), name, value });
    return (c) => m.matches(c.get(name));
  }
  return (c) => {
    const n = numericValue(c.get(name));
    if (Number.isNaN(n)) return false;
    switch (op) {
      case '=':
      case '==':
        return n === value;
      case '!=':
        return n !== value;
      case '>':
        return n > value;
      case '>=':
        return n >= value;
      case '<':
        return n < value;
      default:
        return n <= value;
    }
  };
}

/** A label value as a number: plain numbers, or durations (`150ms`) in seconds. */
function numericValue(text: string): number {
  if (text === '') return NaN;
  const n = Number(text);
  if (!Number.isNaN(n)) return n;
  const ns = parseDurationNs(text);
  return ns === null ? NaN : Number(ns) / 1e9;
}

function setExtracted(c: LineContext, rawName: string, value: string): void {
  let name = rawName.replace(SANITIZE_RE, '_');
  if (name === '') return;
  if (/^[0-9]/.test(name)) name = `_${name}`;
  if (c.record!.stream.some((l) => l.name === name)) name = `${name}_extracted`;
  c.labels.set(name, value);
}

function jsonAll(c: LineContext): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(c.line);
  } catch {
    c.labels.set(ERROR_LABEL, 'JSONParserErr');
    return true;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    c.labels.set(ERROR_LABEL, 'JSONParserErr');
    return true;
  }
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const name = prefix === '' ? k : `${prefix}_${k}`;
      if (v === null) setExtracted(c, name, '');
      else if (Array.isArray(v)) continue;
      else if (typeof v === 'object') walk(v as Record<string, unknown>, name);
      else setExtracted(c, name, String(v));
    }
  };
  walk(parsed as Record<string, unknown>, '');
  return true;
}

const PATH_PART_RE = /([^.[\]]+)|\[(\d+)\]|\["([^"]*)"\]/g;

function jsonParams(params: readonly { readonly name: string; readonly path: string }[]): StageFn {
  const paths = params.map((p) => ({ name: p.name, parts: [...p.path.matchAll(PATH_PART_RE)].map((m) => m[1] ?? m[3] ?? Number(m[2])) }));
  return (c) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(c.line);
    } catch {
      c.labels.set(ERROR_LABEL, 'JSONParserErr');
      return true;
    }
    for (const p of paths) {
      let v: unknown = parsed;
      for (const part of p.parts) {
        if (v === null || typeof v !== 'object') {
          v = undefined;
          break;
        }
        v = (v as Record<string | number, unknown>)[part];
      }
      if (v === undefined || v === null) setExtracted(c, p.name, '');
      else setExtracted(c, p.name, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    return true;
  };
}

const LOGFMT_RE = /([^\s=]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^\s]*)))?/g;

function logfmt(c: LineContext): boolean {
  for (const m of c.line.matchAll(LOGFMT_RE)) {
    const key = m[1]!;
    let value = m[3] ?? '';
    if (m[2] !== undefined) {
      try {
        value = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        value = m[2];
      }
    }
    setExtracted(c, key, value);
  }
  return true;
}

function render(template: string, c: LineContext): string {
  return template.replace(TEMPLATE_RE, (_m, name: string) => c.get(name));
}

function labelFormat(s: LabelFormatStage): StageFn {
  return (c) => {
    // All values are computed before any label changes: the items apply simultaneously, as in Loki.
    const updates = s.items.map((item) => [item.name, item.from !== null ? c.get(item.from) : render(item.template!, c)] as const);
    for (const item of s.items) if (item.from !== null && item.from !== item.name) c.labels.delete(item.from);
    for (const [name, value] of updates) c.labels.set(name, value);
    return true;
  };
}
