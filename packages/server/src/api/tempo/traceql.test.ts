import { describe, expect, it } from 'vitest';
import { parseGoDuration, tagsCondition } from './search-params.js';
import { parseTraceQL } from './traceql.js';

describe('TraceQL subset', () => {
  it('parses scoped, unscoped and intrinsic comparisons joined by && and ||', () => {
    expect(parseTraceQL('{ resource.service.name = "x" && span.http.status_code >= 500 }')).toEqual({
      op: 'and',
      left: { op: 'cmp', field: { kind: 'attribute', scope: 'resource', key: 'service.name' }, cmp: '=', value: 'x' },
      right: { op: 'cmp', field: { kind: 'attribute', scope: 'span', key: 'http.status_code' }, cmp: '>=', value: 500 },
    });
    expect(parseTraceQL('{ (status = error || kind = client) && duration > 1.5s }')).toEqual({
      op: 'and',
      left: {
        op: 'or',
        left: { op: 'cmp', field: { kind: 'intrinsic', name: 'status' }, cmp: '=', value: 2 },
        right: { op: 'cmp', field: { kind: 'intrinsic', name: 'kind' }, cmp: '=', value: 3 },
      },
      right: { op: 'cmp', field: { kind: 'intrinsic', name: 'duration' }, cmp: '>', value: 1.5e9 },
    });
    expect(parseTraceQL('{ .db.system != nil }')).toEqual({ op: 'exists', field: { kind: 'attribute', scope: 'any', key: 'db.system' } });
    expect(parseTraceQL('{ span:name =~ "GET .*" && span."http route" = `/a"b` && .ok = true }')).toEqual({
      op: 'and',
      left: {
        op: 'and',
        left: { op: 'cmp', field: { kind: 'intrinsic', name: 'name' }, cmp: '=~', value: 'GET .*' },
        right: { op: 'cmp', field: { kind: 'attribute', scope: 'span', key: 'http route' }, cmp: '=', value: '/a"b' },
      },
      right: { op: 'cmp', field: { kind: 'attribute', scope: 'any', key: 'ok' }, cmp: '=', value: true },
    });
    expect(parseTraceQL('{}')).toBeNull();
    expect(parseTraceQL('{ }')).toBeNull();
  });

  it('rejects what it does not support, saying where', () => {
    const cases: [string, RegExp][] = [
      ['', /expected "\{" at position 0, got the end of the query/],
      ['{ name = "a" } && { name = "b" }', /only one spanset filter/],
      ['{ status = broken }', /status must be one of error, ok, unset/],
      ['{ foo = 1 }', /unknown field "foo"/],
      ['{ .a = "x }', /unterminated string/],
      ['{ .a ~ 1 }', /unexpected character "~"/],
      ['{ .a =~ abc }', /regular expression must be a quoted string/],
      ['{ .a = nil }', /only "attribute != nil" is supported/],
      ['{ .a = 1 ', /expected "}" at position 9, got the end of the query/],
    ];
    for (const [q, message] of cases) expect(() => parseTraceQL(q), q).toThrow(message);
  });
});

describe('search parameters', () => {
  it('parses Go durations', () => {
    expect(parseGoDuration('100ms')).toBe(100e6);
    expect(parseGoDuration('1.5s')).toBe(1.5e9);
    expect(parseGoDuration('1h30m')).toBe(5400e9);
    expect(parseGoDuration('250us')).toBe(250e3);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('5')).toBeNull();
    expect(parseGoDuration('1d')).toBeNull();
    expect(parseGoDuration('')).toBeNull();
  });

  it('turns logfmt tags into a span condition', () => {
    expect(tagsCondition('service.name="my svc" name=GET error=true')).toEqual({
      op: 'and',
      left: {
        op: 'and',
        left: { op: 'cmp', field: { kind: 'attribute', scope: 'resource', key: 'service.name' }, cmp: '=', value: 'my svc' },
        right: { op: 'cmp', field: { kind: 'intrinsic', name: 'name' }, cmp: '=', value: 'GET' },
      },
      right: { op: 'cmp', field: { kind: 'intrinsic', name: 'status' }, cmp: '=', value: 2 },
    });
    expect(tagsCondition('')).toBeNull();
    expect(() => tagsCondition('novalue')).toThrow(/expected key=value/);
    expect(() => tagsCondition('a="open')).toThrow(/unterminated quoted value/);
  });
});
