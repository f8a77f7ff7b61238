import { describe, expect, it } from 'vitest';
import { exprType } from './ast.js';
import { ParseError, UnsupportedFeatureError, parseExpr } from './parser.js';
import { formatExpr } from './printer.js';

const error = (q: string): string => {
  try {
    parseExpr(q);
  } catch (err) {
    if (err instanceof ParseError) return err.message;
    throw err;
  }
  throw new Error(`${q} parsed`);
};

describe('PromQL parser', () => {
  it('builds typed nodes with modifiers', () => {
    const e = parseExpr('sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset -1m @ end()))');
    expect(e.type).toBe('aggregate');
    if (e.type !== 'aggregate' || e.expr.type !== 'call') throw new Error('shape');
    const m = e.expr.args[0]!;
    expect(m).toMatchObject({ type: 'matrix', rangeMs: 300000, vector: { name: 'http_requests_total', offsetMs: -60000, at: { kind: 'end' } } });
    expect(exprType(e)).toBe('vector');
  });

  it('reads numbers as Prometheus does', () => {
    const value = (q: string): number => {
      const e = parseExpr(q);
      if (e.type !== 'number') throw new Error('not a number');
      return e.value;
    };
    expect(value('0x1F')).toBe(31);
    expect(value('1e3')).toBe(1000);
    expect(value('-Inf')).toBe(-Infinity);
    expect(value('1h30m')).toBe(5400);
    expect(value('1.')).toBe(1);
    expect(Number.isNaN(value('NaN'))).toBe(true);
  });

  it('binds @ and offset to the operand before them and respects precedence', () => {
    expect(formatExpr(parseExpr('-x @ 100 + y offset 5m'))).toBe('-x @ 100.000 + y offset 5m');
    expect(formatExpr(parseExpr('2 ^ 3 ^ 2'))).toBe('2 ^ 3 ^ 2');
    const e = parseExpr('a + b * c');
    expect(e.type === 'binary' && e.op).toBe('+');
  });

  it('rejects what Prometheus rejects, with positions', () => {
    expect(error('{}')).toBe('1:1: parse error: vector selector must contain at least one non-empty matcher');
    expect(error('{a=~".*"}')).toBe('1:1: parse error: vector selector must contain at least one non-empty matcher');
    expect(error('rate(x)')).toBe('1:6: parse error: expected type range vector in call to function "rate", got instant vector');
    expect(error('x + bool y')).toBe('1:1: parse error: bool modifier can only be used on comparison operators');
    expect(error('1 > 2')).toBe('1:1: parse error: comparisons between scalars must use BOOL modifier');
    expect(error('1 and x')).toBe('1:1: parse error: set operator "and" not allowed in binary scalar expression');
    expect(error('x and on(a) group_left y')).toBe('1:1: parse error: no grouping allowed for "and" operation');
    expect(error('x + on(a) group_left(a) y')).toBe('1:1: parse error: label "a" must not occur in ON and GROUP clause at once');
    expect(error('x offset 1m offset 2m')).toBe('1:1: parse error: offset may not be set multiple times');
    expect(error('sum(x) offset 1m')).toBe('1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery');
    expect(error('nope(x)')).toBe('1:1: parse error: unknown function with name "nope"');
    expect(error('topk(x)')).toBe('1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1');
    expect(error('x{a="b"')).toMatch(/^1:\d+: parse error: unexpected/);
    expect(error('x[5m][1m]')).toMatch(/parse error/);
    expect(error('foo{__name__="bar"}')).toBe('1:1: parse error: metric name must not be set twice: "foo" or "bar"');
  });

  it('names unsupported experimental syntax', () => {
    expect(() => parseExpr('x anchored')).toThrow(UnsupportedFeatureError);
    expect(() => parseExpr('start_timestamp(x)')).toThrow(/the start_timestamp\(\) function is not supported/);
    expect(parseExpr('rate(x[5m] anchored)')).toMatchObject({ args: [{ type: 'matrix', vector: { boundary: 'anchored' } }] });
  });

  it('prints canonical PromQL', () => {
    for (const [q, want] of [
      ['sum(rate(x[5m])) by (job)', 'sum by (job) (rate(x[5m]))'],
      ['topk(3, x)', 'topk(3, x)'],
      ['a / ignoring(code) group_left b', 'a / ignoring (code) group_left () b'],
      ['x > bool on(a) y', 'x > bool on (a) y'],
      ['max_over_time(x[1h:5m] offset 1d)', 'max_over_time(x[1h:5m] offset 1d)'],
      ['{"my.metric", "a.b"="c"}', '{"my.metric", "a.b"="c"}'],
      ['sum without (a) (x)', 'sum without (a) (x)'],
    ] as const) {
      expect(formatExpr(parseExpr(q))).toBe(want);
    }
  });
});
