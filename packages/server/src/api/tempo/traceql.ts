/**
 * A TraceQL subset: one spanset filter `{ … }` whose expression combines comparisons with `&&`,
 * `||` and parentheses. Fields: intrinsics (name, status, kind, duration, statusMessage, also as
 * `span:name`…), `span.key`, `resource.key`, `.key` (either scope), quoted keys (`span."a b"`).
 * Values: "strings", numbers, durations (100ms, 1.5s), true/false, status and kind keywords;
 * `!= nil` tests presence. Anything else is rejected with the position and what was expected.
 */
import type { ComparisonOp, SpanCondition, SpanField } from '../../storage/trace-store.js';
import { parseGoDuration } from './search-params.js';

export class TraceQLError extends Error {
  override readonly name = 'TraceQLError';
}

const STATUS_VALUES: Readonly<Record<string, number>> = { unset: 0, ok: 1, error: 2 };
const KIND_VALUES: Readonly<Record<string, number>> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const INTRINSICS: Readonly<Record<string, Extract<SpanField, { kind: 'intrinsic' }>['name']>> = {
  name: 'name',
  status: 'status',
  kind: 'kind',
  duration: 'duration',
  statusMessage: 'statusMessage',
  'span:name': 'name',
  'span:status': 'status',
  'span:kind': 'kind',
  'span:duration': 'duration',
  'span:statusMessage': 'statusMessage',
};
const OPERATORS: readonly ComparisonOp[] = ['>=', '<=', '!=', '=~', '!~', '=', '>', '<'];

type Token =
  | { readonly t: 'punct'; readonly v: string; readonly pos: number }
  | { readonly t: 'ident'; readonly v: string; readonly pos: number }
  | { readonly t: 'string'; readonly v: string; readonly pos: number }
  | { readonly t: 'end'; readonly v: ''; readonly pos: number };

const IDENT_RE = /[A-Za-z0-9_.:\-/]/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '||' || OPERATORS.includes(two as ComparisonOp)) {
      out.push({ t: 'punct', v: two, pos: i });
      i += 2;
      continue;
    }
    if ('{}()=<>'.includes(c)) {
      out.push({ t: 'punct', v: c, pos: i });
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      const start = i;
      let text = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new TraceQLError(`unterminated string starting at position ${start}`);
        const d = src[i]!;
        if (d === c) break;
        if (d === '\\' && c === '"') {
          const n = src[i + 1];
          if (n === undefined) throw new TraceQLError(`unterminated string starting at position ${start}`);
          text += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
          continue;
        }
        text += d;
        i++;
      }
      i++;
      out.push({ t: 'string', v: text, pos: start });
      continue;
    }
    if (IDENT_RE.test(c)) {
      const start = i;
      while (i < src.length) {
        if (IDENT_RE.test(src[i]!)) i++;
        // A quoted attribute name after a scope: span."http status"
        else if (src[i] === '"' && src[i - 1] === '.') {
          const close = src.indexOf('"', i + 1);
          if (close < 0) throw new TraceQLError(`unterminated quoted attribute name at position ${i}`);
          i = close + 1;
        } else break;
      }
      out.push({ t: 'ident', v: src.slice(start, i), pos: start });
      continue;
    }
    throw new TraceQLError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
  }
  out.push({ t: 'end', v: '', pos: src.length });
  return out;
}

/** Parses a TraceQL query of this subset; null when it matches every span (`{}` or empty). */
export function parseTraceQL(src: string): SpanCondition | null {
  const tokens = tokenize(src);
  let p = 0;
  const peek = (): Token => tokens[p]!;
  const next = (): Token => tokens[p++]!;
  const expect = (v: string): void => {
    const t = next();
    if (t.v !== v || t.t === 'string') throw new TraceQLError(`expected "${v}" at position ${t.pos}, got ${describe(t)}`);
  };

  const parseOr = (): SpanCondition => {
    let left = parseAnd();
    while (peek().t === 'punct' && peek().v === '||') {
      next();
      left = { op: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): SpanCondition => {
    let left = parseUnary();
    while (peek().t === 'punct' && peek().v === '&&') {
      next();
      left = { op: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): SpanCondition => {
    if (peek().t === 'punct' && peek().v === '(') {
      next();
      const inner = parseOr();
      expect(')');
      return inner;
    }
    return parseComparison();
  };
  const parseComparison = (): SpanCondition => {
    const fieldTok = next();
    if (fieldTok.t !== 'ident') throw new TraceQLError(`expected a field at position ${fieldTok.pos}, got ${describe(fieldTok)}`);
    const field = parseField(fieldTok);
    const opTok = next();
    if (opTok.t !== 'punct' || !OPERATORS.includes(opTok.v as ComparisonOp)) {
      throw new TraceQLError(`expected a comparison operator after ${fieldTok.v} at position ${opTok.pos}, got ${describe(opTok)}`);
    }
    const cmp = opTok.v as ComparisonOp;
    const valTok = next();
    if (valTok.t === 'ident' && valTok.v === 'nil') {
      if (cmp !== '!=' || field.kind !== 'attribute') throw new TraceQLError(`only "attribute != nil" is supported, at position ${valTok.pos}`);
      return { op: 'exists', field };
    }
    return { op: 'cmp', field, cmp, value: parseValue(field, cmp, valTok) };
  };

  expect('{');
  let condition: SpanCondition | null = null;
  if (!(peek().t === 'punct' && peek().v === '}')) condition = parseOr();
  expect('}');
  const rest = peek();
  if (rest.t !== 'end') {
    throw new TraceQLError(`only one spanset filter { … } is supported; unexpected ${describe(rest)} at position ${rest.pos}`);
  }
  return condition;
}

function describe(t: Token): string {
  return t.t === 'end' ? 'the end of the query' : JSON.stringify(t.v);
}

function unquote(key: string): string {
  return key.startsWith('"') && key.endsWith('"') ? key.slice(1, -1) : key;
}

function parseField(tok: Token): SpanField {
  const v = tok.v;
  const intrinsic = INTRINSICS[v];
  if (intrinsic !== undefined) return { kind: 'intrinsic', name: intrinsic };
  if (v.startsWith('span.') && v.length > 5) return { kind: 'attribute', scope: 'span', key: unquote(v.slice(5)) };
  if (v.startsWith('resource.') && v.length > 9) return { kind: 'attribute', scope: 'resource', key: unquote(v.slice(9)) };
  if (v.startsWith('.') && v.length > 1) return { kind: 'attribute', scope: 'any', key: unquote(v.slice(1)) };
  throw new TraceQLError(
    `unknown field ${JSON.stringify(v)} at position ${tok.pos}: use an intrinsic (name, status, kind, duration, statusMessage) or span.<key>, resource.<key>, .<key>`,
  );
}

function parseValue(field: SpanField, cmp: ComparisonOp, tok: Token): string | number | boolean {
  const regex = cmp === '=~' || cmp === '!~';
  if (tok.t === 'string') return tok.v;
  if (tok.t !== 'ident') throw new TraceQLError(`expected a value at position ${tok.pos}, got ${describe(tok)}`);
  if (regex) throw new TraceQLError(`a regular expression must be a quoted string, at position ${tok.pos}`);
  const v = tok.v;
  if (field.kind === 'intrinsic' && field.name === 'status') {
    const code = STATUS_VALUES[v];
    if (code === undefined) throw new TraceQLError(`status must be one of error, ok, unset; got ${JSON.stringify(v)} at position ${tok.pos}`);
    return code;
  }
  if (field.kind === 'intrinsic' && field.name === 'kind') {
    const kind = KIND_VALUES[v];
    if (kind === undefined) throw new TraceQLError(`kind must be one of ${Object.keys(KIND_VALUES).join(', ')}; got ${JSON.stringify(v)} at position ${tok.pos}`);
    return kind;
  }
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)) return Number(v);
  const ns = parseGoDuration(v);
  if (ns !== null) return ns;
  throw new TraceQLError(`expected a value (string, number, duration, true/false) at position ${tok.pos}, got ${JSON.stringify(v)}`);
}
