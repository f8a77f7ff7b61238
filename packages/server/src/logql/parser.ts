/**
 * A recursive-descent parser for the supported LogQL subset (see ast.ts). Constructs of full
 * LogQL outside the subset are recognised and rejected with UnsupportedLogQLError naming them,
 * so a user learns what to change rather than reading a generic syntax error.
 */
import { compileMatcher, MatcherError, type Matcher, type MatchType } from '../model/matchers.js';
import type {
  LabelCompareOp,
  LabelExpr,
  LabelFormatStage,
  LineFilterOp,
  LogQLExpr,
  LogSelectorExpr,
  MetricExpr,
  RangeFunction,
  Stage,
  VectorOp,
} from './ast.js';
import { LogQLParseError, UnsupportedLogQLError } from './errors.js';
import { parseDurationNs, tokenize, type Token } from './lexer.js';

const RANGE_FUNCTIONS = new Set<string>(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
const UNSUPPORTED_RANGE_FUNCTIONS = new Set<string>([
  'sum_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'first_over_time', 'last_over_time', 'stdvar_over_time',
  'stddev_over_time', 'quantile_over_time', 'absent_over_time', 'rate_counter',
]);
const VECTOR_OPS = new Set<string>(['sum', 'count', 'avg', 'max', 'min', 'topk', 'bottomk']);
const UNSUPPORTED_VECTOR_OPS = new Set<string>(['stddev', 'stdvar', 'sort', 'sort_desc', 'approx_topk', 'label_replace', 'vector', 'absent']);
const UNSUPPORTED_STAGES = new Set<string>(['pattern', 'regexp', 'unpack', 'decolorize', 'unwrap', 'line_format_json', 'distinct']);
const LINE_FILTER_OPS = new Set<string>(['|=', '!=', '|~', '!~']);
const MATCH_OPS = new Set<string>(['=', '!=', '=~', '!~']);
const COMPARE_OPS = new Set<string>(['=', '!=', '=~', '!~', '==', '>', '>=', '<', '<=']);
const BINARY_OPS = new Set<string>(['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=']);

/** Parses a LogQL query; throws LogQLParseError or UnsupportedLogQLError. */
export function parseLogQL(query: string): LogQLExpr {
  const p = new Parser(tokenize(query));
  if (p.peek().kind === 'eof') throw new LogQLParseError('empty query', 0);
  const expr = p.expr();
  const next = p.peek();
  if (next.kind !== 'eof') {
    if (next.kind === 'punct' && BINARY_OPS.has(next.text)) throw new UnsupportedLogQLError(`binary operator "${next.text}"`, next.pos);
    if (next.kind === 'ident' && (next.text === 'and' || next.text === 'or' || next.text === 'unless')) throw new UnsupportedLogQLError(`binary operator "${next.text}"`, next.pos);
    throw new LogQLParseError(`unexpected ${describe(next)} after the end of the expression`, next.pos);
  }
  return expr;
}

/** Parses a bare stream selector such as `{app="x", env=~"prod|dev"}` (e.g. the `match[]` of /series). */
export function parseStreamSelector(text: string): Matcher[] {
  const p = new Parser(tokenize(text));
  const matchers = p.selector();
  const next = p.peek();
  if (next.kind !== 'eof') throw new LogQLParseError(`unexpected ${describe(next)} after the stream selector`, next.pos);
  return matchers;
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of query';
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  return `"${t.text}"`;
}

class Parser {
  private i = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isPunct(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'punct' && t.text === text;
  }

  private expect(text: string, what: string): Token {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) throw new LogQLParseError(`expected "${text}" ${what}, got ${describe(t)}`, t.pos);
    return t;
  }

  private ident(what: string): Token {
    const t = this.next();
    if (t.kind !== 'ident') throw new LogQLParseError(`expected ${what}, got ${describe(t)}`, t.pos);
    return t;
  }

  private string(what: string): Token {
    const t = this.next();
    if (t.kind !== 'string') throw new LogQLParseError(`expected a quoted string ${what}, got ${describe(t)}`, t.pos);
    return t;
  }

  expr(): LogQLExpr {
    const t = this.peek();
    if (this.isPunct('{')) return this.logExpr();
    if (this.isPunct('(')) {
      this.next();
      const inner = this.expr();
      this.expect(')', 'to close the parenthesis');
      return inner;
    }
    if (t.kind === 'ident') return this.metricExpr();
    if (t.kind === 'number') throw new UnsupportedLogQLError('a number literal as a query', t.pos);
    throw new LogQLParseError(`expected a stream selector "{...}" or a metric query, got ${describe(t)}`, t.pos);
  }

  private metricExpr(): MetricExpr {
    if (this.isPunct('(')) {
      this.next();
      const inner = this.metricExpr();
      this.expect(')', 'to close the parenthesis');
      return inner;
    }
    const t = this.ident('a function or aggregation');
    const name = t.text;
    if (RANGE_FUNCTIONS.has(name)) return this.rangeAggregation(name as RangeFunction);
    if (VECTOR_OPS.has(name)) return this.vectorAggregation(name as VectorOp, t);
    if (UNSUPPORTED_RANGE_FUNCTIONS.has(name) || UNSUPPORTED_VECTOR_OPS.has(name)) throw new UnsupportedLogQLError(`function ${name}()`, t.pos);
    throw new LogQLParseError(`unknown function or aggregation "${name}"`, t.pos);
  }

  private rangeAggregation(fn: RangeFunction): MetricExpr {
    this.expect('(', `after ${fn}`);
    if (this.peek().kind === 'number') throw new UnsupportedLogQLError(`a parameter to ${fn}()`, this.peek().pos);
    const selector = this.logExpr();
    this.expect('[', `for the range of ${fn}() (e.g. [5m])`);
    const dur = this.next();
    if (dur.kind !== 'duration') throw new LogQLParseError(`expected a duration like 5m in the range, got ${describe(dur)}`, dur.pos);
    const rangeNs = parseDurationNs(dur.text);
    if (rangeNs === null || rangeNs <= 0n) throw new LogQLParseError(`invalid range duration "${dur.text}"`, dur.pos);
    this.expect(']', 'to close the range');
    let offsetNs = 0n;
    if (this.peek().kind === 'ident' && this.peek().text === 'offset') {
      this.next();
      const o = this.next();
      const ns = o.kind === 'duration' ? parseDurationNs(o.text) : null;
      if (ns === null) throw new LogQLParseError(`expected a duration after offset, got ${describe(o)}`, o.pos);
      offsetNs = ns;
    }
    this.expect(')', `to close ${fn}(`);
    if (this.peek().kind === 'ident' && (this.peek().text === 'by' || this.peek().text === 'without')) {
      throw new UnsupportedLogQLError(`grouping on the range function ${fn}() (group in an outer aggregation instead)`, this.peek().pos);
    }
    return { type: 'range', fn, selector, rangeNs, offsetNs };
  }

  private vectorAggregation(op: VectorOp, t: Token): MetricExpr {
    let grouping = this.grouping();
    this.expect('(', `after ${op}`);
    let param: number | null = null;
    if (op === 'topk' || op === 'bottomk') {
      const k = this.next();
      if (k.kind !== 'number' || !Number.isInteger(Number(k.text)) || Number(k.text) <= 0) throw new LogQLParseError(`expected a positive integer k for ${op}, got ${describe(k)}`, k.pos);
      param = Number(k.text);
      this.expect(',', `after the k of ${op}`);
    } else if (this.peek().kind === 'number') throw new UnsupportedLogQLError(`a parameter to ${op}()`, this.peek().pos);
    const expr = this.metricExpr();
    this.expect(')', `to close ${op}(`);
    const after = this.grouping();
    if (after) {
      if (grouping) throw new LogQLParseError(`${op} has two by/without clauses`, t.pos);
      grouping = after;
    }
    return { type: 'aggregate', op, param, grouping, expr };
  }

  private grouping(): { without: boolean; labels: string[] } | null {
    const t = this.peek();
    if (t.kind !== 'ident' || (t.text !== 'by' && t.text !== 'without')) return null;
    this.next();
    this.expect('(', `after ${t.text}`);
    const labels: string[] = [];
    while (!this.isPunct(')')) {
      labels.push(this.ident('a label name').text);
      if (!this.isPunct(',')) break;
      this.next();
    }
    this.expect(')', `to close ${t.text}(`);
    return { without: t.text === 'without', labels };
  }

  selector(): Matcher[] {
    this.expect('{', 'to open the stream selector');
    const matchers: Matcher[] = [];
    while (!this.isPunct('}')) {
      const name = this.ident('a label name in the stream selector');
      const op = this.next();
      if (op.kind !== 'punct' || !MATCH_OPS.has(op.text)) throw new LogQLParseError(`expected =, !=, =~ or !~ after ${name.text}, got ${describe(op)}`, op.pos);
      const value = this.string(`as the value of ${name.text}`);
      const m: Matcher = { type: op.text as MatchType, name: name.text, value: value.text };
      try {
        compileMatcher(m);
      } catch (err) {
        if (err instanceof MatcherError) throw new LogQLParseError(err.message, value.pos);
        throw err;
      }
      matchers.push(m);
      if (!this.isPunct(',')) break;
      this.next();
    }
    const close = this.expect('}', 'to close the stream selector');
    if (matchers.length === 0) throw new LogQLParseError('a stream selector needs at least one label matcher', close.pos);
    if (!matchers.some((m) => !compileMatcher(m).matches(''))) {
      throw new LogQLParseError('a stream selector needs at least one matcher that does not match the empty string, e.g. {service_name="shop"}', close.pos);
    }
    return matchers;
  }

  private logExpr(): LogSelectorExpr {
    if (this.isPunct('(')) {
      this.next();
      const inner = this.logExpr();
      this.expect(')', 'to close the parenthesis');
      return inner;
    }
    const matchers = this.selector();
    const stages: Stage[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') break;
      if (LINE_FILTER_OPS.has(t.text)) {
        this.next();
        const v = this.peek();
        if (v.kind === 'ident' && (v.text === 'ip' || v.text === 'or')) throw new UnsupportedLogQLError(`line filter ${v.text === 'ip' ? 'ip()' : '"or"'}`, v.pos);
        stages.push({ kind: 'line_filter', op: t.text as LineFilterOp, value: this.string(`after ${t.text}`).text });
        if (this.peek().kind === 'ident' && this.peek().text === 'or') throw new UnsupportedLogQLError('line filter "or"', this.peek().pos);
        continue;
      }
      if (t.text !== '|') break;
      this.next();
      stages.push(this.pipeStage());
    }
    return { type: 'log', matchers, stages };
  }

  private pipeStage(): Stage {
    const t = this.peek();
    if (t.kind !== 'ident') throw new LogQLParseError(`expected a parser, formatter or label filter after "|", got ${describe(t)}`, t.pos);
    const next = this.peek(1);
    const isFilter = next.kind === 'punct' && COMPARE_OPS.has(next.text);
    if (!isFilter) {
      if (t.text === 'json') return this.jsonStage();
      if (t.text === 'logfmt') {
        this.next();
        if (this.peek().kind === 'punct' && this.peek().text === '-') throw new UnsupportedLogQLError('logfmt flags (--strict, --keep-empty)', this.peek().pos);
        if (this.peek().kind === 'ident' && this.peek(1).kind === 'punct' && this.peek(1).text === '=') throw new UnsupportedLogQLError('logfmt with parameters', this.peek().pos);
        return { kind: 'logfmt' };
      }
      if (t.text === 'line_format') {
        this.next();
        const s = this.string('as the line_format template');
        return { kind: 'line_format', template: checkTemplate(s.text, s.pos) };
      }
      if (t.text === 'label_format') return this.labelFormat();
      if (t.text === 'drop' || t.text === 'keep') return this.dropKeep(t.text);
      if (UNSUPPORTED_STAGES.has(t.text)) throw new UnsupportedLogQLError(`| ${t.text}`, t.pos);
      throw new LogQLParseError(`unknown pipeline stage "${t.text}" (expected json, logfmt, line_format, label_format or a label filter)`, t.pos);
    }
    return { kind: 'label_filter', expr: this.labelOr() };
  }

  private jsonStage(): Stage {
    this.next();
    const params: { name: string; path: string }[] = [];
    while (this.peek().kind === 'ident' && !(this.peek(1).kind === 'punct' && COMPARE_OPS.has(this.peek(1).text) && this.peek(1).text !== '=')) {
      const name = this.ident('a label name').text;
      let path = name;
      if (this.isPunct('=')) {
        this.next();
        path = this.string(`as the JSON path of ${name}`).text;
      }
      params.push({ name, path });
      if (!this.isPunct(',')) break;
      this.next();
    }
    return { kind: 'json', params };
  }

  private labelFormat(): LabelFormatStage {
    this.next();
    const items: { name: string; from: string | null; template: string | null }[] = [];
    for (;;) {
      const name = this.ident('a label name in label_format').text;
      this.expect('=', `after ${name} in label_format`);
      const v = this.next();
      if (v.kind === 'ident') items.push({ name, from: v.text, template: null });
      else if (v.kind === 'string') items.push({ name, from: null, template: checkTemplate(v.text, v.pos) });
      else throw new LogQLParseError(`expected a label name or a quoted template for ${name}, got ${describe(v)}`, v.pos);
      if (!this.isPunct(',')) break;
      this.next();
    }
    return { kind: 'label_format', items };
  }

  private dropKeep(kind: 'drop' | 'keep'): Stage {
    this.next();
    const items: { name: string; value: string | null }[] = [];
    for (;;) {
      const name = this.ident(`a label name after ${kind}`).text;
      let value: string | null = null;
      if (this.isPunct('=')) {
        this.next();
        value = this.string(`as the value of ${name} in ${kind}`).text;
      } else if (this.peek().kind === 'punct' && COMPARE_OPS.has(this.peek().text)) {
        throw new UnsupportedLogQLError(`"${this.peek().text}" in ${kind} (only name and name="value")`, this.peek().pos);
      }
      items.push({ name, value });
      if (!this.isPunct(',')) break;
      this.next();
    }
    return { kind, items };
  }

  private labelOr(): LabelExpr {
    let left = this.labelAnd();
    while (this.peek().kind === 'ident' && this.peek().text === 'or') {
      this.next();
      left = { kind: 'or', left, right: this.labelAnd() };
    }
    return left;
  }

  private labelAnd(): LabelExpr {
    let left = this.labelPrimary();
    for (;;) {
      const t = this.peek();
      if ((t.kind === 'ident' && t.text === 'and') || (t.kind === 'punct' && t.text === ',')) {
        this.next();
        left = { kind: 'and', left, right: this.labelPrimary() };
      } else if (t.kind === 'ident' && this.peek(1).kind === 'punct' && COMPARE_OPS.has(this.peek(1).text)) {
        left = { kind: 'and', left, right: this.labelPrimary() };
      } else return left;
    }
  }

  private labelPrimary(): LabelExpr {
    if (this.isPunct('(')) {
      this.next();
      const inner = this.labelOr();
      this.expect(')', 'to close the parenthesis in the label filter');
      return inner;
    }
    const name = this.ident('a label name in the label filter').text;
    const opTok = this.next();
    if (opTok.kind !== 'punct' || !COMPARE_OPS.has(opTok.text)) throw new LogQLParseError(`expected a comparison after ${name}, got ${describe(opTok)}`, opTok.pos);
    const op = opTok.text as LabelCompareOp;
    const v = this.next();
    if (v.kind === 'string') {
      if (op !== '=' && op !== '!=' && op !== '=~' && op !== '!~') throw new LogQLParseError(`${op} compares numbers; got the string ${JSON.stringify(v.text)}`, v.pos);
      if (op === '=~' || op === '!~') {
        try {
          compileMatcher({ type: op, name, value: v.text });
        } catch (err) {
          if (err instanceof MatcherError) throw new LogQLParseError(err.message, v.pos);
          throw err;
        }
      }
      return { kind: 'predicate', name, op, value: v.text };
    }
    if (op === '=~' || op === '!~') throw new LogQLParseError(`${op} needs a quoted regular expression`, v.pos);
    if (v.kind === 'number') return { kind: 'predicate', name, op, value: Number(v.text) };
    if (v.kind === 'duration') return { kind: 'predicate', name, op, value: Number(parseDurationNs(v.text)!) / 1e9 };
    if (v.kind === 'bytes') throw new UnsupportedLogQLError('byte-size comparisons in label filters', v.pos);
    if (v.kind === 'ident' && (v.text === 'ip')) throw new UnsupportedLogQLError('ip() label filters', v.pos);
    throw new LogQLParseError(`expected a string, number or duration after ${name} ${op}, got ${describe(v)}`, v.pos);
  }
}

const TEMPLATE_ACTION_RE = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/** line_format and label_format accept `{{.label}}` references only; anything else is named in the error. */
function checkTemplate(template: string, pos: number): string {
  for (const m of template.matchAll(TEMPLATE_ACTION_RE)) {
    if (!/^\.[a-zA-Z_][a-zA-Z0-9_]*$/.test(m[1]!)) throw new UnsupportedLogQLError(`template action "{{${m[1]!}}}" (only {{.label}} references are supported)`, pos);
  }
  return template;
}
