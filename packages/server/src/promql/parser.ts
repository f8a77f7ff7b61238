/**
 * PromQL parser: the official lezer grammar gives the concrete tree, this module turns it into
 * the typed AST of ast.ts and applies the semantic checks of Prometheus's own parser, with
 * errors in Prometheus's `line:col: parse error: …` form.
 */
import { parser as lezer } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { compileMatcher, compileAnchoredRegex, MatcherError, type Matcher, type MatchType } from '../model/matchers.js';
import {
  COMPARISON_OPS,
  SET_OPS,
  exprType,
  type AggregateOp,
  type AtModifier,
  type BinaryFill,
  type BinaryOp,
  type Cardinality,
  type Expr,
  type PosRange,
  type ValueType,
  type VectorMatching,
  type VectorSelector,
} from './ast.js';
import { FUNCTIONS } from './function-signatures.js';
import { normalizeForGrammar, parseNumberLiteral, unquoteString } from './lexical.js';
import { ParseError, UnsupportedFeatureError } from './parse-errors.js';

export { ParseError, UnsupportedFeatureError, positionText } from './parse-errors.js';

export interface ParseOptions {
  /** Query step for `step()` in duration expressions, ms (0 for instant queries). */
  readonly stepMs?: number;
  /** Query range for `range()` in duration expressions, ms. */
  readonly rangeMs?: number;
  /** Receives the names of experimental features the query uses. */
  readonly features?: Set<string>;
}

const TYPE_NAMES: Record<ValueType, string> = {
  scalar: 'scalar',
  vector: 'instant vector',
  matrix: 'range vector',
  string: 'string',
};

/** Human-readable type name as Prometheus prints it in errors. */
export function typeName(t: ValueType): string {
  return TYPE_NAMES[t];
}

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gte: '>=',
  Gtr: '>',
  Lte: '<=',
  Lss: '<',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

const MATCH_OPS: Record<string, MatchType> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** Functions that need data this engine does not have (metadata joins, start timestamps). */
const UNSUPPORTED_FUNCTIONS = new Set(['start_timestamp']);

const PARAM_AGGREGATIONS = new Set<AggregateOp>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const EXPERIMENTAL_AGGREGATIONS = new Set<AggregateOp>(['limitk', 'limit_ratio']);

function kids(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

/** Parses a PromQL expression into the typed AST; throws ParseError. */
export function parseExpr(query: string, options: ParseOptions = {}): Expr {
  return new AstBuilder(query, options).build();
}

class AstBuilder {
  /** Selectors and subqueries whose offset / @ was already set, to reject a second one. */
  private readonly offsetSet = new Set<object>();
  private readonly atSet = new Set<object>();
  /** Set while parsing info()'s second argument, whose matchers may all match "". */
  private infoSelector = false;

  constructor(
    private readonly query: string,
    private readonly options: ParseOptions,
  ) {}

  build(): Expr {
    if (this.query.trim() === '') throw this.error({ start: 0, end: 0 }, 'no expression found in input');
    const tree = lezer.parse(normalizeForGrammar(this.query));
    const cursor = tree.cursor();
    do {
      if (cursor.type.isError) {
        const at = cursor.from;
        const call = /([a-zA-Z_:][\w:]*)\s*$/.exec(this.query.slice(0, at));
        if (call && this.query[at] === '(' && !FUNCTIONS.has(call[1]!)) {
          throw this.error({ start: call.index, end: at }, `unknown function with name ${JSON.stringify(call[1])}`);
        }
        const text = this.query.slice(at, Math.max(cursor.to, at + 1)).trim();
        const reason = at >= this.query.trimEnd().length || text === '' ? 'unexpected end of input' : `unexpected character or token ${JSON.stringify(text)}`;
        throw this.error({ start: at, end: cursor.to }, reason);
      }
    } while (cursor.next());
    const top = tree.topNode.firstChild;
    if (!top) throw this.error({ start: 0, end: 0 }, 'no expression found in input');
    return this.expr(top);
  }

  private error(pos: PosRange, reason: string): ParseError {
    return new ParseError(pos, reason, this.query);
  }

  private text(node: SyntaxNode): string {
    return this.query.slice(node.from, node.to);
  }

  private pos(node: SyntaxNode): PosRange {
    return { start: node.from, end: node.to };
  }

  private feature(name: string): void {
    this.options.features?.add(name);
  }

  private unsupported(feature: string, node: SyntaxNode): never {
    this.feature(feature);
    throw new UnsupportedFeatureError(feature, this.pos(node), this.query);
  }

  private string(node: SyntaxNode): string {
    try {
      return unquoteString(this.text(node));
    } catch (err) {
      throw this.error(this.pos(node), `${(err as Error).message}: ${this.text(node)}`);
    }
  }

  private expr(node: SyntaxNode): Expr {
    const c = kids(node);
    const pos = this.pos(node);
    switch (node.name) {
      case 'ParenExpr':
        return { type: 'paren', expr: this.expr(c[0]!), pos };
      case 'NumberDurationLiteral': {
        const value = parseNumberLiteral(this.text(node).replace(/\s+/g, ''));
        if (value === null) throw this.error(pos, `bad number or duration syntax: ${JSON.stringify(this.text(node))}`);
        return { type: 'number', value, pos };
      }
      case 'StringLiteral':
        return { type: 'string', value: this.string(node), pos };
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'MatrixSelector':
        return this.matrixSelector(node, c);
      case 'SubqueryExpr':
        return this.subquery(node, c);
      case 'OffsetExpr':
        return this.offset(node, c);
      case 'StepInvariantExpr':
        return this.at(node, c);
      case 'FunctionCall':
        return this.call(node, c);
      case 'AggregateExpr':
        return this.aggregate(node, c);
      case 'BinaryExpr':
        return this.binary(node, c);
      case 'UnaryExpr':
        return this.unary(node, c);
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return this.boundaryMode(node, c);
      default:
        throw this.error(pos, `unexpected ${node.name}`);
    }
  }

  private vectorSelector(node: SyntaxNode): VectorSelector {
    const matchers: Matcher[] = [];
    let name = '';
    for (const c of kids(node)) {
      if (c.name === 'Identifier') {
        name = this.text(c);
      } else if (c.name === 'LabelMatchers') {
        for (const m of kids(c)) {
          if (m.name === 'QuotedLabelName') {
            const quoted = this.string(m.firstChild!);
            if (name !== '') throw this.error(this.pos(m), `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(quoted)}`);
            name = quoted;
            continue;
          }
          const [labelNode, opNode, valueNode] = kids(m);
          const label = m.name === 'QuotedLabelMatcher' ? this.string(labelNode!.firstChild!) : this.text(labelNode!);
          const type = MATCH_OPS[opNode!.firstChild!.name]!;
          const value = this.string(valueNode!);
          if (type === '=~' || type === '!~') {
            try {
              compileAnchoredRegex(value);
            } catch (err) {
              if (err instanceof MatcherError) throw this.error(this.pos(m), err.message);
              throw err;
            }
          }
          matchers.push({ type, name: label, value });
        }
      }
    }
    const pos = this.pos(node);
    if (name !== '') {
      for (const m of matchers) {
        if (m.name === '__name__') throw this.error(pos, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(m.value)}`);
      }
      matchers.unshift({ type: '=', name: '__name__', value: name });
    }
    if (!this.infoSelector && !matchers.some((m) => !compileMatcher(m).matches(''))) {
      throw this.error(pos, 'vector selector must contain at least one non-empty matcher');
    }
    return { type: 'vector', name, matchers, offsetMs: 0, at: null, boundary: null, pos };
  }

  private matrixSelector(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const inner = this.expr(c[0]!);
    const bracket = this.query.indexOf('[', c[0]!.to);
    if (inner.type !== 'vector') throw this.error({ start: bracket, end: node.to }, 'ranges only allowed for vector selectors');
    if (this.offsetSet.has(inner)) throw this.error(this.pos(c[0]!), 'no offset modifiers allowed before range');
    if (this.atSet.has(inner)) throw this.error(this.pos(c[0]!), 'no @ modifiers allowed before range');
    const rangeMs = this.duration(c[1]!);
    if (rangeMs <= 0) throw this.error(this.pos(c[1]!), 'duration must be greater than 0');
    return { type: 'matrix', vector: inner, rangeMs, pos: this.pos(node) };
  }

  private subquery(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const inner = this.expr(c[0]!);
    const t = exprType(inner);
    if (t !== 'vector') throw this.error(this.pos(c[0]!), `subquery is only allowed on instant vector, got ${typeName(t)} instead`);
    const rangeMs = this.duration(c[1]!);
    const stepMs = c[2] ? this.duration(c[2]) : 0;
    if (rangeMs <= 0) throw this.error(this.pos(c[1]!), 'duration must be greater than 0');
    if (c[2] && stepMs <= 0) throw this.error(this.pos(c[2]), 'duration must be greater than 0');
    return { type: 'subquery', expr: inner, rangeMs, stepMs, offsetMs: 0, at: null, pos: this.pos(node) };
  }

  /** The node an offset or @ applies to, or null when the modifier is misplaced. */
  private modifierTarget(e: Expr): VectorSelector | Extract<Expr, { type: 'subquery' }> | null {
    if (e.type === 'vector' || e.type === 'subquery') return e;
    if (e.type === 'matrix') return e.vector;
    // The grammar gives modifiers the lowest precedence; Prometheus binds them to the operand
    // just before them (`-x @ 1`, `a + b offset 1m`).
    if (e.type === 'unary') return this.modifierTarget(e.expr);
    if (e.type === 'binary') return this.modifierTarget(e.rhs);
    return null;
  }

  private offset(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const inner = this.expr(c[0]!);
    const target = this.modifierTarget(inner);
    if (!target) throw this.error(this.pos(node), 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    if (this.offsetSet.has(target)) throw this.error(this.pos(node), 'offset may not be set multiple times');
    this.offsetSet.add(target);
    target.offsetMs = this.duration(c[2]!);
    return this.withEnd(inner, node);
  }

  private at(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const inner = this.expr(c[0]!);
    const target = this.modifierTarget(inner);
    if (!target) throw this.error(this.pos(node), '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    if (this.atSet.has(target)) throw this.error(this.pos(node), '@ <timestamp> may not be set multiple times');
    this.atSet.add(target);
    const arg = c[2]!;
    let at: AtModifier;
    if (arg.name === 'AtModifierPreprocessors') {
      at = { kind: arg.firstChild!.name === 'AtStart' ? 'start' : 'end' };
    } else {
      const seconds = parseNumberLiteral(this.text(arg).replace(/\s+/g, ''));
      if (seconds === null || !Number.isFinite(seconds) || Math.abs(seconds * 1000) > 9.223372036854776e18) {
        throw this.error(this.pos(node), `timestamp out of bounds for @ modifier: ${seconds === null ? this.text(arg) : seconds.toFixed(6)}`);
      }
      at = { kind: 'time', ms: Math.round(seconds * 1000) };
    }
    target.at = at;
    return this.withEnd(inner, node);
  }

  private boundaryMode(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const mode = node.name === 'AnchoredExpr' ? 'anchored' : 'smoothed';
    this.feature(`${mode} range selectors`);
    const inner = this.expr(c[0]!);
    const sel = inner.type === 'vector' ? inner : inner.type === 'matrix' ? inner.vector : null;
    if (!sel) throw this.error(this.pos(node), `${mode} modifier must be preceded by an instant vector selector or range vector selector`);
    if (sel.boundary) throw this.error(this.pos(node), `${sel.boundary} modifier may not be set multiple times`);
    // Like Prometheus, an instant selector only supports smoothing.
    if (inner.type === 'vector' && mode === 'anchored') this.unsupported('anchored instant vector selectors', node);
    sel.boundary = mode;
    return this.withEnd(inner, node);
  }

  /** Widens a selector's position to include its modifiers, as Prometheus's position ranges do. */
  private withEnd(e: Expr, node: SyntaxNode): Expr {
    if (e.type === 'vector' || e.type === 'matrix' || e.type === 'subquery') e.pos = { start: e.pos.start, end: node.to };
    return e;
  }

  /** Evaluates a (possibly arithmetic) duration to ms; bare numbers are seconds. */
  private duration(node: SyntaxNode): number {
    return Math.round(this.durationSeconds(node) * 1000);
  }

  private durationSeconds(node: SyntaxNode): number {
    const c = kids(node);
    if (node.name === 'NumberDurationLiteralInDurationContext') {
      const v = parseNumberLiteral(this.text(node));
      if (v === null || !Number.isFinite(v)) throw this.error(this.pos(node), `bad duration syntax: ${JSON.stringify(this.text(node))}`);
      return v;
    }
    const first = c[0]!;
    if (c.length === 1 && first.name !== 'DurationStep' && first.name !== 'DurationRange') {
      return this.durationSeconds(first);
    }
    this.feature('duration expressions');
    if (first.name === 'UnaryOp') {
      const v = this.durationSeconds(c[1]!);
      return this.text(first) === '-' ? -v : v;
    }
    if (first.name === 'DurationStep') return (this.options.stepMs ?? 0) / 1000;
    if (first.name === 'DurationRange') return (this.options.rangeMs ?? 0) / 1000;
    if (first.name === 'DurationMinOf' || first.name === 'DurationMaxOf') {
      const a = this.durationSeconds(c[1]!);
      const b = this.durationSeconds(c[2]!);
      return first.name === 'DurationMinOf' ? Math.min(a, b) : Math.max(a, b);
    }
    if (c.length === 3) {
      const a = this.durationSeconds(c[0]!);
      const b = this.durationSeconds(c[2]!);
      switch (c[1]!.name) {
        case 'Add':
          return a + b;
        case 'Sub':
          return a - b;
        case 'Mul':
          return a * b;
        case 'Div':
          if (b === 0) throw this.error(this.pos(node), 'division by zero');
          return a / b;
        case 'Mod':
          if (b === 0) throw this.error(this.pos(node), 'modulo by zero');
          return a % b;
        case 'Pow':
          return a ** b;
      }
    }
    throw this.error(this.pos(node), `unexpected duration expression ${JSON.stringify(this.text(node))}`);
  }

  private call(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const name = this.text(c[0]!);
    const sig = FUNCTIONS.get(name);
    const pos = this.pos(node);
    if (!sig) throw this.error(pos, `unknown function with name ${JSON.stringify(name)}`);
    if (sig.experimental) this.feature(`experimental function ${name}()`);
    if (UNSUPPORTED_FUNCTIONS.has(name)) this.unsupported(`the ${name}() function`, node);
    const args: Expr[] = kids(c[1]!).map((a, i) => (name === 'info' && i === 1 ? this.infoSelectorArg(a) : this.expr(a)));
    const n = sig.argTypes.length;
    if (sig.variadic === 0 && args.length !== n) {
      throw this.error(pos, `expected ${n} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
    }
    if (sig.variadic > 0 && (args.length < n - sig.variadic || args.length > n)) {
      const bound = args.length < n - sig.variadic ? `at least ${n - sig.variadic}` : `at most ${n}`;
      throw this.error(pos, `expected ${bound} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
    }
    if (sig.variadic < 0 && args.length < n - 1) {
      throw this.error(pos, `expected at least ${n - 1} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`);
    }
    args.forEach((a, i) => {
      const want = sig.argTypes[Math.min(i, n - 1)]!;
      const got = exprType(a);
      if (got !== want) {
        throw this.error(a.pos, `expected type ${typeName(want)} in call to function ${JSON.stringify(name)}, got ${typeName(got)}`);
      }
    });
    if (name === 'info' && args.length === 1) {
      // Without a selector, info() reads target_info.
      const at = { start: pos.end, end: pos.end };
      args.push({ type: 'vector', name: '', matchers: [{ type: '=', name: '__name__', value: 'target_info' }], offsetMs: 0, at: null, boundary: null, pos: at });
    }
    return { type: 'call', func: name, args, pos };
  }

  /**
   * info()'s label selector, completed with the info metrics it reads: target_info when it names
   * none, any `*_info` metric when it only excludes names.
   */
  private infoSelectorArg(node: SyntaxNode): Expr {
    this.infoSelector = true;
    let e: Expr;
    try {
      e = this.expr(node);
    } finally {
      this.infoSelector = false;
    }
    if (e.type !== 'vector') return e;
    const names = e.matchers.filter((m) => m.name === '__name__');
    if (names.length === 0) e = { ...e, matchers: [{ type: '=', name: '__name__', value: 'target_info' }, ...e.matchers] };
    else if (!names.some((m) => m.type === '=' || m.type === '=~')) e = { ...e, matchers: [{ type: '=~', name: '__name__', value: '.+_info' }, ...e.matchers] };
    return e;
  }

  private groupingLabels(node: SyntaxNode): string[] {
    return kids(node).map((l) => (l.name === 'QuotedLabelName' ? this.string(l.firstChild!) : this.text(l)));
  }

  private aggregate(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const op = this.text(c[0]!).toLowerCase() as AggregateOp;
    const pos = this.pos(node);
    if (EXPERIMENTAL_AGGREGATIONS.has(op)) this.feature(`experimental aggregation ${op}`);
    // limit_ratio samples by Prometheus's xxhash of the labels, which this engine does not reproduce.
    if (op === 'limit_ratio') this.unsupported('the limit_ratio aggregation', node);
    let grouping: string[] = [];
    let without = false;
    let hasGrouping = false;
    let body: SyntaxNode | null = null;
    for (const k of c.slice(1)) {
      if (k.name === 'AggregateModifier') {
        hasGrouping = true;
        without = k.firstChild!.name === 'Without';
        grouping = this.groupingLabels(k.lastChild!);
      } else if (k.name === 'FunctionCallBody') {
        body = k;
      }
    }
    const args = kids(body!).map((a) => this.expr(a));
    const wantArgs = PARAM_AGGREGATIONS.has(op) ? 2 : 1;
    if (args.length !== wantArgs) {
      throw this.error(pos, `wrong number of arguments for aggregate expression provided, expected ${wantArgs}, got ${args.length}`);
    }
    const expr = args[wantArgs - 1]!;
    const param = wantArgs === 2 ? args[0]! : null;
    const t = exprType(expr);
    if (t !== 'vector') throw this.error(expr.pos, `expected type instant vector in aggregation expression, got ${typeName(t)}`);
    if (param) {
      const want: ValueType = op === 'count_values' ? 'string' : 'scalar';
      const got = exprType(param);
      if (got !== want) throw this.error(param.pos, `expected type ${typeName(want)} in aggregation parameter, got ${typeName(got)}`);
    }
    return { type: 'aggregate', op, expr, param, grouping, without, hasGrouping, pos };
  }

  private binary(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const signed = c[1]?.name === 'Pow' && c[0]!.name === 'NumberDurationLiteral' ? /^\s*([+-])/.exec(this.text(c[0]!)) : null;
    if (signed) {
      // The grammar lexes `-1` as one literal; in PromQL unary minus binds weaker than `^`.
      const literal = this.expr(c[0]!) as Extract<Expr, { type: 'number' }>;
      const positive: Expr = { type: 'number', value: Math.abs(literal.value), pos: literal.pos };
      const power = this.binaryFrom(node, c, positive, this.expr(c[c.length - 1]!));
      return signed[1] === '-' ? { type: 'unary', op: '-', expr: power, pos: this.pos(node) } : power;
    }
    return this.binaryFrom(node, c, this.expr(c[0]!), this.expr(c[c.length - 1]!));
  }

  private binaryFrom(node: SyntaxNode, c: SyntaxNode[], lhs: Expr, rhs: Expr): Expr {
    const opNode = c[1]!;
    const op = BINARY_OPS[opNode.name];
    const pos = this.pos(node);
    if (!op) this.unsupported(`native histograms (the ${this.text(opNode)} operator)`, opNode);
    let returnBool = false;
    let clause: SyntaxNode | null = null;
    let fill: BinaryFill | null = null;
    for (const k of c.slice(2, -1)) {
      if (k.name === 'BoolModifier') returnBool = true;
      else if (k.name === 'MatchingModifierClause') clause = k;
      else if (k.name === 'FillModifier') fill = this.fillModifier(k);
    }
    const lt = exprType(lhs);
    const rt = exprType(rhs);
    for (const [side, t] of [
      [lhs, lt],
      [rhs, rt],
    ] as const) {
      if (t !== 'scalar' && t !== 'vector') {
        throw this.error(side.pos, 'binary expression must contain only scalar and instant vector types');
      }
    }
    const comparison = COMPARISON_OPS.has(op);
    if (returnBool && !comparison) throw this.error(pos, 'bool modifier can only be used on comparison operators');
    if (comparison && lt === 'scalar' && rt === 'scalar' && !returnBool) {
      throw this.error(pos, 'comparisons between scalars must use BOOL modifier');
    }
    const setOp = SET_OPS.has(op);
    if (setOp && (lt === 'scalar' || rt === 'scalar')) {
      throw this.error(pos, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    }
    const bothVectors = lt === 'vector' && rt === 'vector';
    if (clause && !bothVectors) throw this.error(pos, 'vector matching only allowed between instant vectors');
    let matching: VectorMatching | null = null;
    if (bothVectors) matching = this.matching(clause, op, pos);
    if (fill && (!bothVectors || setOp)) throw this.error(pos, 'fill modifiers are only allowed between instant vectors with arithmetic or comparison operators');
    return { type: 'binary', op, lhs, rhs, matching, returnBool, fill, pos };
  }

  private fillModifier(node: SyntaxNode): BinaryFill {
    this.feature('fill modifiers');
    let left: number | null = null;
    let right: number | null = null;
    for (const clause of kids(node)) {
      const value = parseNumberLiteral(this.text(clause.lastChild!).replace(/\s+/g, ''));
      if (value === null) throw this.error(this.pos(clause), `bad number in ${this.text(clause)}`);
      if (clause.name !== 'FillRightClause') left = value;
      if (clause.name !== 'FillLeftClause') right = value;
    }
    return { left, right };
  }

  private matching(clause: SyntaxNode | null, op: BinaryOp, pos: PosRange): VectorMatching {
    const setOp = SET_OPS.has(op);
    let card: Cardinality = setOp ? 'many-to-many' : 'one-to-one';
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    if (clause) {
      const c = kids(clause);
      on = c[0]!.name === 'On';
      labels = this.groupingLabels(c[1]!);
      const group = c[2];
      if (group) {
        if (setOp) throw this.error(pos, `no grouping allowed for ${JSON.stringify(op)} operation`);
        card = group.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
        if (c[3]) include = this.groupingLabels(c[3]);
      }
    }
    for (const l of include) {
      if (on && labels.includes(l)) throw this.error(pos, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`);
    }
    return { card, labels, on, include };
  }

  private unary(node: SyntaxNode, c: SyntaxNode[]): Expr {
    const op = this.text(c[0]!) === '-' ? '-' : '+';
    const inner = this.expr(c[1]!);
    const t = exprType(inner);
    const pos = this.pos(node);
    if (t !== 'scalar' && t !== 'vector') {
      throw this.error(pos, `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(typeName(t))}`);
    }
    if (inner.type === 'number') return { type: 'number', value: op === '-' ? -inner.value : inner.value, pos };
    return { type: 'unary', op, expr: inner, pos };
  }
}
