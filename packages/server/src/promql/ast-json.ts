/** The JSON tree of /api/v1/parse_query, shaped as Prometheus's translateAST. */
import type { AtModifier, Expr } from './ast.js';
import { formatFloat } from './float-math.js';
import { FUNCTIONS } from './function-signatures.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function at(a: AtModifier | null): { timestamp: Json; startOrEnd: Json } {
  if (!a) return { timestamp: null, startOrEnd: null };
  if (a.kind === 'time') return { timestamp: a.ms, startOrEnd: null };
  return { timestamp: null, startOrEnd: a.kind };
}

function matchers(ms: readonly { type: string; name: string; value: string }[]): Json {
  return ms.map((m) => ({ type: m.type, name: m.name, value: m.value }));
}

/** Converts an expression to Prometheus's parse_query JSON. */
export function astToJson(e: Expr): Json {
  switch (e.type) {
    case 'number':
      return { type: 'numberLiteral', val: formatFloat(e.value) };
    case 'string':
      return { type: 'stringLiteral', val: e.value };
    case 'paren':
      return { type: 'parenExpr', expr: astToJson(e.expr) };
    case 'unary':
      return { type: 'unaryExpr', op: e.op, expr: astToJson(e.expr) };
    case 'vector':
      return { type: 'vectorSelector', name: e.name, offset: e.offsetMs, matchers: matchers(e.matchers), ...at(e.at) };
    case 'matrix':
      return {
        type: 'matrixSelector',
        name: e.vector.name,
        range: e.rangeMs,
        offset: e.vector.offsetMs,
        matchers: matchers(e.vector.matchers),
        ...at(e.vector.at),
      };
    case 'subquery':
      return { type: 'subquery', expr: astToJson(e.expr), range: e.rangeMs, offset: e.offsetMs, step: e.stepMs, ...at(e.at) };
    case 'call': {
      const sig = FUNCTIONS.get(e.func)!;
      return {
        type: 'call',
        func: { name: sig.name, argTypes: [...sig.argTypes], variadic: sig.variadic, returnType: sig.returnType },
        args: e.args.map(astToJson),
      };
    }
    case 'aggregate':
      return {
        type: 'aggregation',
        op: e.op,
        expr: astToJson(e.expr),
        param: e.param ? astToJson(e.param) : null,
        grouping: [...e.grouping],
        without: e.without,
      };
    case 'binary':
      return {
        type: 'binaryExpr',
        op: e.op,
        lhs: astToJson(e.lhs),
        rhs: astToJson(e.rhs),
        matching: e.matching ? { card: e.matching.card, labels: [...e.matching.labels], on: e.matching.on, include: [...e.matching.include] } : null,
        bool: e.returnBool,
      };
  }
}
