/**
 * The typed PromQL syntax tree the parser builds from lezer's concrete tree and the engine
 * evaluates. Times and durations are milliseconds; positions are byte offsets into the query.
 */
import type { Matcher } from '../model/matchers.js';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Half-open byte range [start, end) of a node in the query text. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** `@ <time>`, `@ start()` or `@ end()`. */
export type AtModifier = { readonly kind: 'time'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

export interface NumberLiteral {
  readonly type: 'number';
  readonly value: number;
  readonly pos: PosRange;
}

export interface StringLiteral {
  readonly type: 'string';
  readonly value: string;
  readonly pos: PosRange;
}

export interface VectorSelector {
  readonly type: 'vector';
  /** The metric name written before the braces (or as a lone quoted name), '' when none. */
  readonly name: string;
  readonly matchers: readonly Matcher[];
  offsetMs: number;
  at: AtModifier | null;
  /**
   * Extended range-selector semantics (experimental): `anchored` adds the sample at or before
   * the window start, `smoothed` interpolates values at the window edges.
   */
  boundary: BoundaryMode;
  /** Widened to include offset/@ modifiers written after the selector. */
  pos: PosRange;
}

export type BoundaryMode = 'anchored' | 'smoothed' | null;

export interface MatrixSelector {
  readonly type: 'matrix';
  readonly vector: VectorSelector;
  readonly rangeMs: number;
  /** Widened to include offset/@ modifiers written after the selector. */
  pos: PosRange;
}

export interface SubqueryExpr {
  readonly type: 'subquery';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0 means "the default evaluation interval". */
  readonly stepMs: number;
  offsetMs: number;
  at: AtModifier | null;
  /** Widened to include offset/@ modifiers written after the selector. */
  pos: PosRange;
}

export interface Call {
  readonly type: 'call';
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'count_values'
  | 'quantile'
  | 'limitk'
  | 'limit_ratio';

export interface AggregateExpr {
  readonly type: 'aggregate';
  readonly op: AggregateOp;
  readonly expr: Expr;
  readonly param: Expr | null;
  readonly grouping: readonly string[];
  readonly without: boolean;
  /** True when `by`/`without` was written (even with an empty list). */
  readonly hasGrouping: boolean;
  readonly pos: PosRange;
}

export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | 'atan2'
  | '=='
  | '!='
  | '>'
  | '<'
  | '>='
  | '<='
  | 'and'
  | 'or'
  | 'unless';

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  readonly card: Cardinality;
  /** Labels of on()/ignoring(). */
  readonly labels: readonly string[];
  /** True for on(), false for ignoring() or no clause. */
  readonly on: boolean;
  /** Labels listed in group_left()/group_right(). */
  readonly include: readonly string[];
}

export interface BinaryExpr {
  readonly type: 'binary';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** Null unless both sides are vectors. */
  readonly matching: VectorMatching | null;
  readonly returnBool: boolean;
  /** Values that stand in for a missing left/right sample (the experimental fill modifiers). */
  readonly fill: BinaryFill | null;
  readonly pos: PosRange;
}

export interface BinaryFill {
  readonly left: number | null;
  readonly right: number | null;
}

export interface UnaryExpr {
  readonly type: 'unary';
  readonly op: '+' | '-';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export interface ParenExpr {
  readonly type: 'paren';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPS: ReadonlySet<BinaryOp> = new Set(['and', 'or', 'unless']);

/** The value type an expression evaluates to. */
export function exprType(e: Expr): ValueType {
  switch (e.type) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vector':
      return 'vector';
    case 'matrix':
    case 'subquery':
      return 'matrix';
    case 'call':
      return callReturnType(e.func);
    case 'aggregate':
      return 'vector';
    case 'binary':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
    case 'paren':
      return exprType(e.expr);
  }
}

const SCALAR_FUNCS = new Set(['time', 'scalar', 'pi', 'start', 'end', 'range', 'step']);

function callReturnType(func: string): ValueType {
  return SCALAR_FUNCS.has(func) ? 'scalar' : 'vector';
}
