/**
 * Parser of Prometheus's PromQL test-script language (`*.test` files): load, clear and eval
 * commands, series descriptions and the value-sequence notation. See ../shared/promqltest/FORMAT.md.
 */
import { labelsFromPairs, type Labels } from '../../model/labels.js';
import { STALE_NAN } from '../../model/samples.js';
import { parseDuration, unquoteString } from '../lexical.js';

/** One position of a value sequence: a float, a staleness marker, a gap or a native histogram. */
export type SeqValue = { kind: 'float'; v: number } | { kind: 'gap' } | { kind: 'histogram' };

export interface SeriesLine {
  readonly labels: Labels;
  readonly values: SeqValue[];
  readonly line: number;
}

export interface LoadCommand {
  readonly kind: 'load';
  readonly line: number;
  readonly intervalMs: number;
  readonly withNhcb: boolean;
  readonly series: SeriesLine[];
  /** True when the block has per-sample start timestamps (`@st` lines). */
  readonly startTimestamps: boolean;
}

export type Expectation = { kind: 'msg'; text: string } | { kind: 'regex'; re: RegExp } | { kind: 'any' };

export interface EvalCommand {
  readonly kind: 'eval';
  readonly line: number;
  readonly expr: string;
  readonly instant: boolean;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  fail: Expectation | null;
  readonly warn: Expectation[];
  readonly info: Expectation[];
  noWarn: boolean;
  noInfo: boolean;
  /** Legacy eval_warn / eval_info: at least one annotation, text unchecked. */
  anyWarn: boolean;
  anyInfo: boolean;
  ordered: boolean;
  rangeVector: { startMs: number; endMs: number; stepMs: number } | null;
  expectString: string | null;
  scalar: number | null;
  readonly series: SeriesLine[];
}

export type Command = LoadCommand | EvalCommand | { readonly kind: 'clear'; readonly line: number };

export class ScriptError extends Error {
  override readonly name = 'ScriptError';
}

function duration(text: string, line: number): number {
  const ms = parseDuration(text);
  if (ms === null) throw new ScriptError(`line ${line}: invalid duration ${JSON.stringify(text)}`);
  return ms;
}

const NUMBER_RE = /^[+-]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)/i;

function parseFloatText(text: string): number | null {
  const m = NUMBER_RE.exec(text);
  if (!m || m[0].length !== text.length) return null;
  const body = text.replace(/^[+-]/, '').toLowerCase();
  const neg = text.startsWith('-');
  if (body === 'inf') return neg ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
  return Number(text);
}

/** Reads a bare scalar expectation: integer with base detection (hex), then float. */
function parseScalarLine(text: string): number | null {
  if (/^[+-]?0x[0-9a-f]+$/i.test(text)) {
    const v = parseInt(text.replace(/^[+-]?0x/i, ''), 16);
    return text.startsWith('-') ? -v : v;
  }
  return parseFloatText(text);
}

/** Expands one whitespace-separated item of the value notation. */
function expandItem(item: string, out: SeqValue[], line: number): void {
  if (item === '_') {
    out.push({ kind: 'gap' });
    return;
  }
  const gaps = /^_x(\d+)$/.exec(item);
  if (gaps) {
    for (let i = 0; i < Number(gaps[1]); i++) out.push({ kind: 'gap' });
    return;
  }
  if (item === 'stale') {
    out.push({ kind: 'float', v: STALE_NAN });
    return;
  }
  const m = NUMBER_RE.exec(item);
  if (!m) throw new ScriptError(`line ${line}: invalid value ${JSON.stringify(item)}`);
  const first = parseFloatText(m[0])!;
  const rest = item.slice(m[0].length);
  if (rest === '') {
    out.push({ kind: 'float', v: first });
    return;
  }
  const rep = /^x(\d+)$/.exec(rest);
  if (rep) {
    for (let i = 0; i <= Number(rep[1]); i++) out.push({ kind: 'float', v: first });
    return;
  }
  const seq = /^([+-])((?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))x(\d+)$/i.exec(rest);
  if (!seq) throw new ScriptError(`line ${line}: invalid value ${JSON.stringify(item)}`);
  const delta = parseFloatText(seq[2]!)! * (seq[1] === '-' ? -1 : 1);
  let v = first;
  for (let i = 0; i <= Number(seq[3]); i++) {
    out.push({ kind: 'float', v });
    v += delta;
  }
}

/** Expands a value sequence; native histograms become `histogram` positions. */
export function parseValues(text: string, line: number): SeqValue[] {
  const out: SeqValue[] = [];
  let rest = text.trim();
  while (rest !== '') {
    if (rest.startsWith('{{')) {
      const close = rest.indexOf('}}');
      if (close < 0) throw new ScriptError(`line ${line}: unterminated histogram`);
      let end = close + 2;
      const tail = /^(?:x(\d+)|[+-]\{\{[^}]*\}\}x(\d+))/.exec(rest.slice(end));
      let count = 1;
      if (tail) {
        count = Number(tail[1] ?? tail[2]) + 1;
        end += tail[0].length;
      }
      for (let i = 0; i < count; i++) out.push({ kind: 'histogram' });
      rest = rest.slice(end).trim();
      continue;
    }
    const sp = rest.search(/\s/);
    const item = sp < 0 ? rest : rest.slice(0, sp);
    expandItem(item, out, line);
    rest = sp < 0 ? '' : rest.slice(sp).trim();
  }
  return out;
}

/** Splits `metric{…} values` at the end of the metric text; returns [metric, values]. */
function splitSeriesLine(text: string, line: number): [string, string] {
  let i = 0;
  while (i < text.length && /[\w:]/.test(text[i]!)) i++;
  if (text[i] === '{') {
    let quote = '';
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === '\\' && quote !== '`') i++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === '}') break;
    }
    if (i >= text.length) throw new ScriptError(`line ${line}: unterminated label set`);
    i++;
  }
  return [text.slice(0, i), text.slice(i)];
}

/** Parses a series description's metric part into labels. */
export function parseMetric(text: string, line: number): Labels {
  const pairs: [string, string][] = [];
  let i = 0;
  const name = /^[a-zA-Z_:][\w:]*/.exec(text);
  if (name) {
    pairs.push(['__name__', name[0]]);
    i = name[0].length;
  }
  if (i === text.length) return labelsFromPairs(pairs);
  if (text[i] !== '{' || !text.endsWith('}')) throw new ScriptError(`line ${line}: invalid metric ${JSON.stringify(text)}`);
  const body = text.slice(i + 1, -1);
  const tokenRe = /\s*(?:([a-zA-Z_][\w]*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`))\s*(?:=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`))?\s*(?:,|$)/y;
  let pos = 0;
  while (pos < body.length) {
    if (/^\s*$/.test(body.slice(pos))) break;
    tokenRe.lastIndex = pos;
    const m = tokenRe.exec(body);
    if (!m || m[0].length === 0) throw new ScriptError(`line ${line}: invalid label set ${JSON.stringify(text)}`);
    pos = tokenRe.lastIndex;
    const label = m[1] ?? unquoteString(m[2]!);
    if (m[3] === undefined) {
      if (m[2] === undefined) throw new ScriptError(`line ${line}: label ${label} without value`);
      pairs.push(['__name__', label]);
    } else {
      pairs.push([label, unquoteString(m[3])]);
    }
  }
  return labelsFromPairs(pairs);
}

function parseSeriesLine(text: string, line: number): SeriesLine {
  const [metric, values] = splitSeriesLine(text, line);
  return { labels: parseMetric(metric, line), values: parseValues(values, line), line };
}

function expectation(rest: string): Expectation {
  const m = /^(msg|regex):\s*(.*)$/.exec(rest.trim());
  if (!m) return { kind: 'any' };
  const text = m[2]!.trim();
  return m[1] === 'msg' ? { kind: 'msg', text } : { kind: 'regex', re: new RegExp(text) };
}

const INSTANT_RE = /^eval(?:_(fail|warn|info|ordered))?\s+instant\s+at\s+(\S+)\s+(.+)$/;
const RANGE_RE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/;

function parseEvalHeader(text: string, line: number): EvalCommand {
  const inst = INSTANT_RE.exec(text);
  const range = inst ? null : RANGE_RE.exec(text);
  if (!inst && !range) throw new ScriptError(`line ${line}: invalid eval header ${JSON.stringify(text)}`);
  const variant = (inst ?? range)![1];
  const base = {
    kind: 'eval' as const,
    line,
    fail: variant === 'fail' ? ({ kind: 'any' } as Expectation) : null,
    warn: [],
    info: [],
    noWarn: false,
    noInfo: false,
    anyWarn: variant === 'warn',
    anyInfo: variant === 'info',
    ordered: variant === 'ordered',
    rangeVector: null,
    expectString: null,
    scalar: null,
    series: [],
  };
  if (inst) {
    const t = duration(inst[2]!, line);
    return { ...base, expr: inst[3]!, instant: true, startMs: t, endMs: t, stepMs: 0 };
  }
  const start = duration(range![2]!, line);
  const end = duration(range![3]!, line);
  if (end < start) throw new ScriptError(`line ${line}: end is before start`);
  return { ...base, expr: range![5]!, instant: false, startMs: start, endMs: end, stepMs: duration(range![4]!, line) };
}

/** Applies one body line of an eval block; returns true when the line ends the block. */
function evalBodyLine(ev: EvalCommand, text: string, line: number): boolean {
  const words = text.split(/\s+/);
  if (words[0] === 'expect') {
    const rv = /^expect range vector from (\S+) to (\S+) step (\S+)$/.exec(text);
    if (rv) {
      ev.rangeVector = { startMs: duration(rv[1]!, line), endMs: duration(rv[2]!, line), stepMs: duration(rv[3]!, line) };
      return false;
    }
    const str = /^expect string\s+(.*)$/.exec(text);
    if (str) {
      ev.expectString = unquoteString(str[1]!.trim());
      return false;
    }
    const m = /^expect (fail|warn|no_warn|info|no_info|ordered)(?:\s+(.*))?$/.exec(text);
    if (!m) throw new ScriptError(`line ${line}: invalid expect line ${JSON.stringify(text)}`);
    const exp = expectation(m[2] ?? '');
    switch (m[1]) {
      case 'fail':
        ev.fail = exp;
        break;
      case 'warn':
        ev.warn.push(exp);
        break;
      case 'info':
        ev.info.push(exp);
        break;
      case 'no_warn':
        ev.noWarn = true;
        break;
      case 'no_info':
        ev.noInfo = true;
        break;
      default:
        ev.ordered = true;
    }
    return false;
  }
  if (words[0] === 'expected_fail_message' || words[0] === 'expected_fail_regexp') {
    const rest = text.slice(words[0].length).trim();
    ev.fail = words[0] === 'expected_fail_message' ? { kind: 'msg', text: rest } : { kind: 'regex', re: new RegExp(rest) };
    return true;
  }
  const scalar = words.length === 1 ? parseScalarLine(text) : null;
  if (scalar !== null) {
    ev.scalar = scalar;
    return true;
  }
  const series = parseSeriesLine(text, line);
  const existing = ev.series.findIndex((s) => JSON.stringify(s.labels) === JSON.stringify(series.labels));
  if (existing >= 0) ev.series.splice(existing, 1);
  ev.series.push(series);
  return false;
}

/** Parses a whole script; throws ScriptError on syntax errors. */
export function parseScript(text: string): Command[] {
  const lines = text.split('\n').map((l) => l.trim());
  const commands: Command[] = [];
  const blank = (l: string): boolean => l === '' || l.startsWith('#');
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    const lineNo = i + 1;
    if (blank(l)) {
      i++;
      continue;
    }
    const word = l.split(/\s+/)[0]!.toLowerCase();
    if (word === 'clear') {
      commands.push({ kind: 'clear', line: lineNo });
      i++;
    } else if (word.startsWith('load')) {
      const m = /^(load|load_with_nhcb)\s+(\S+)$/.exec(l);
      if (!m) throw new ScriptError(`line ${lineNo}: invalid load header ${JSON.stringify(l)}`);
      const series: SeriesLine[] = [];
      let startTimestamps = false;
      i++;
      while (i < lines.length && !blank(lines[i]!)) {
        const body = lines[i]!;
        if (/^\S*@st\s/.test(body) || /\}@st\s/.test(body)) startTimestamps = true;
        else series.push(parseSeriesLine(body, i + 1));
        i++;
      }
      commands.push({ kind: 'load', line: lineNo, intervalMs: duration(m[2]!, lineNo), withNhcb: m[1] === 'load_with_nhcb', series, startTimestamps });
    } else if (word.startsWith('eval')) {
      const ev = parseEvalHeader(l, lineNo);
      i++;
      while (i < lines.length && !blank(lines[i]!)) {
        const ends = evalBodyLine(ev, lines[i]!, i + 1);
        i++;
        if (ends) break;
      }
      commands.push(ev);
    } else {
      throw new ScriptError(`line ${lineNo}: unknown command ${JSON.stringify(l)}`);
    }
  }
  return commands;
}
