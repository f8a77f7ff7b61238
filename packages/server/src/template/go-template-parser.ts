/**
 * Parser for Go's text/template language, the language of Prometheus rule annotations and
 * Alertmanager notification templates: text and `{{ actions }}` with trim markers, comments,
 * pipelines, variables, if/else if/else, range (with else, break, continue), with, define,
 * template and block. Unknown functions are parse errors, as in Go.
 */

/**
 * Where a node is and how it reads, as Go's execution errors name it:
 * `template: LOCATION: executing "NAME" at <TEXT>: ...`, LOCATION being `PARSENAME:LINE:COLUMN`.
 */
export interface NodeRef {
  readonly location: string;
  readonly text: string;
}

/** A value produced by an argument: the dot, a field chain, a variable, a literal, a nested pipeline. */
export type ArgNode = { readonly ref: NodeRef } & (
  | { readonly kind: 'dot' }
  | { readonly kind: 'field'; readonly receiver: ArgNode | null; readonly fields: readonly string[] }
  | { readonly kind: 'variable'; readonly name: string; readonly fields: readonly string[] }
  | { readonly kind: 'string'; readonly value: string }
  /** A Go int literal is a bigint, a float literal a number (they print differently). */
  | { readonly kind: 'number'; readonly value: number | bigint }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'nil' }
  | { readonly kind: 'function'; readonly name: string }
  | { readonly kind: 'pipeline'; readonly pipe: PipelineNode }
);

/** One stage of a pipeline: a function call or a value with arguments (methods take arguments). */
export interface CommandNode {
  readonly ref: NodeRef;
  readonly args: readonly ArgNode[];
}

export interface PipelineNode {
  readonly ref: NodeRef;
  /** Variables declared (`:=`) or assigned (`=`) by this pipeline. */
  readonly declare: readonly string[];
  readonly assign: boolean;
  readonly commands: readonly CommandNode[];
}

/** `if`, `with` and `range`: a condition, a body and an optional else branch. */
export interface BlockNode {
  readonly kind: 'if' | 'with' | 'range';
  readonly pipe: PipelineNode;
  readonly list: TemplateNode[];
  readonly elseList: TemplateNode[] | null;
}

export type TemplateNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'action'; readonly pipe: PipelineNode }
  | BlockNode
  | { readonly kind: 'template'; readonly name: string; readonly pipe: PipelineNode | null; readonly ref: NodeRef }
  | { readonly kind: 'break' | 'continue' };

/** A parse or execution error in Go's format: `template: NAME:LINE: message` (execution errors add the column). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** A token of an action; `pos` is its offset in the source, `raw` its source text. */
type Token = { pos: number; raw: string } & (
  | { t: 'ident'; v: string }
  | { t: 'field'; v: string; glued: boolean }
  | { t: 'var'; v: string }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number | bigint }
  | { t: 'op'; v: '(' | ')' | '|' | ':=' | '=' | ',' }
);

interface Action {
  readonly line: number;
  readonly tokens: Token[];
}

type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

/** Splits the source into text and tokenised actions, applying `{{-` and `-}}` trimming. */
function scan(name: string, text: string): Piece[] {
  const pieces: Piece[] = [];
  let pos = 0;
  let trimNext = false;
  // Line numbers are counted incrementally: `line` is the line of `counted`.
  let line = 1;
  let counted = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    let chunk = text.slice(pos, open < 0 ? text.length : open);
    if (trimNext) chunk = chunk.replace(/^\s+/, '');
    if (open < 0) {
      if (chunk) pieces.push({ kind: 'text', text: chunk });
      break;
    }
    let start = open + 2;
    if (text.startsWith('- ', start) || text.startsWith('-\t', start) || text.startsWith('-\n', start)) {
      chunk = chunk.replace(/\s+$/, '');
      start += 1;
    }
    if (chunk) pieces.push({ kind: 'text', text: chunk });
    for (; counted < open; counted++) if (text.charCodeAt(counted) === 10) line++;
    const body = /^\s*\/\*/.exec(text.slice(start, start + 64));
    if (body) {
      const endComment = text.indexOf('*/', start);
      if (endComment < 0) throw new TemplateError(`template: ${name}:${line}: unclosed comment`);
      const after = text.slice(endComment + 2);
      const close = /^\s*(-?)\s*}}/.exec(after);
      if (!close) throw new TemplateError(`template: ${name}:${line}: comment ends before closing delimiter`);
      trimNext = close[1] === '-';
      pos = endComment + 2 + close[0].length;
      continue;
    }
    const { tokens, end, trim } = lexAction(name, text, start, line);
    pieces.push({ kind: 'action', action: { line, tokens } });
    trimNext = trim;
    pos = end;
  }
  return pieces;
}

function lexAction(name: string, text: string, start: number, line: number): { tokens: Token[]; end: number; trim: boolean } {
  const tokens: Token[] = [];
  let i = start;
  const fail = (msg: string): never => {
    throw new TemplateError(`template: ${name}:${line}: ${msg}`);
  };
  for (;;) {
    if (i >= text.length) fail('unclosed action');
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (text.startsWith('-}}', i + 1)) return { tokens, end: i + 4, trim: true };
      i++;
      continue;
    }
    if (text.startsWith('}}', i)) return { tokens, end: i + 2, trim: false };
    const pos = i;
    const raw = (end: number): { pos: number; raw: string } => ({ pos, raw: text.slice(pos, end) });
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      tokens.push({ t: 'op', v: c, ...raw(i + 1) });
      i++;
    } else if (text.startsWith(':=', i)) {
      tokens.push({ t: 'op', v: ':=', ...raw(i + 2) });
      i += 2;
    } else if (c === '=') {
      tokens.push({ t: 'op', v: '=', ...raw(i + 1) });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') j++;
        if (text[j] === '\n') fail('unterminated quoted string');
        j++;
      }
      if (j >= text.length) fail('unterminated quoted string');
      tokens.push({ t: 'string', v: unquote(text.slice(i, j + 1), fail), ...raw(j + 1) });
      i = j + 1;
    } else if (c === '`') {
      const j = text.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      tokens.push({ t: 'string', v: text.slice(i + 1, j), ...raw(j + 1) });
      i = j + 1;
    } else if (c === "'") {
      const m = /^'(\\.|[^'\\])'/.exec(text.slice(i));
      if (!m) fail('malformed character constant');
      tokens.push({ t: 'number', v: BigInt(unquote(`"${m![1]}"`, fail).codePointAt(0)!), ...raw(i + m![0].length) });
      i += m![0].length;
    } else if (c === '.' || c === '$') {
      const m = /^[.$][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*/.exec(text.slice(i))!;
      if (c === '.') tokens.push({ t: 'field', v: m[0], glued: text[i - 1] === ')', ...raw(i + m[0].length) });
      else tokens.push({ t: 'var', v: m[0], ...raw(i + m[0].length) });
      i += m[0].length;
    } else if (/[0-9+\-]/.test(c)) {
      const m = /^[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(text.slice(i));
      const lit = m?.[0] ?? '';
      const value = Number(lit.replace(/_/g, ''));
      if (lit === '' || lit === '+' || lit === '-' || Number.isNaN(value)) fail(`bad number syntax: ${JSON.stringify(text.slice(i, i + 10))}`);
      const isInt = /^[+-]?(0[xX][0-9a-fA-F_]+|\d[\d_]*)$/.test(lit);
      const digits = lit.replace(/_/g, '').replace(/^[+-]/, '');
      tokens.push({ t: 'number', v: isInt ? (lit.startsWith('-') ? -BigInt(digits) : BigInt(digits)) : value, ...raw(i + lit.length) });
      i += lit.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ t: 'ident', v: m[0], ...raw(i + m[0].length) });
      i += m[0].length;
    } else {
      fail(`unexpected ${JSON.stringify(c)} in command`);
    }
  }
}

function unquote(lit: string, fail: (m: string) => never): string {
  try {
    return JSON.parse(lit.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\'/g, "'").replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string;
  } catch {
    return fail(`invalid syntax in string ${lit}`);
  }
}

/** Splits `.a.b.c` into field names. */
function fieldNames(v: string): string[] {
  return v.split('.').filter((s) => s !== '');
}

/** The result of parsing one source text: its body and the templates it defines. */
export interface ParsedTemplate {
  readonly body: TemplateNode[];
  readonly defines: Map<string, TemplateNode[]>;
}

/**
 * Parses template text. `isFunction` answers whether a function name is known; an unknown one is an
 * error (`function "x" not defined`), reported at parse time as Go does.
 */
export function parseTemplate(name: string, text: string, isFunction: (fn: string) => boolean): ParsedTemplate {
  const pieces = scan(name, text);
  let at = 0;
  const defines = new Map<string, TemplateNode[]>();

  const failAt = (line: number, msg: string): never => {
    throw new TemplateError(`template: ${name}:${line}: ${msg}`);
  };

  // Offsets where lines start, so a node's line is a binary search rather than a count from the top.
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  // Go counts the column in bytes from 0 and, on the first line, from the start of the text.
  const ref = (pos: number, nodeText: string): NodeRef => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    const column = Buffer.byteLength(text.slice(lineStarts[lo]!, pos));
    return { location: `${name}:${lo + 1}:${column}`, text: nodeText };
  };

  // Variables in scope, checked at parse time as Go does: `$` and the declarations of enclosing
  // actions; a control structure's declarations end with its {{end}}, a define starts afresh.
  let vars: string[] = ['$'];

  /** Parses nodes until one of the `stops` keywords; returns the list and the stopping action. */
  const parseList = (stops: readonly string[]): { list: TemplateNode[]; stop: Action | null; word: string | null } => {
    const list: TemplateNode[] = [];
    while (at < pieces.length) {
      const piece = pieces[at++]!;
      if (piece.kind === 'text') {
        list.push({ kind: 'text', text: piece.text });
        continue;
      }
      const { action } = piece;
      const first = action.tokens[0];
      if (first === undefined) failAt(action.line, 'missing value for command');
      const word = first!.t === 'ident' ? first!.v : '';
      if (stops.includes(word)) return { list, stop: action, word };
      switch (word) {
        case 'end':
        case 'else':
          failAt(action.line, `unexpected {{${word}}}`);
          break;
        case 'if':
        case 'with':
        case 'range':
          list.push(parseControl(word, action));
          break;
        case 'define': {
          const defName = templateName(action);
          if (action.tokens.length !== 2) failAt(action.line, 'unexpected arguments in define clause');
          const outerVars = vars;
          vars = ['$'];
          const inner = parseList(['end']);
          vars = outerVars;
          if (!inner.stop) failAt(action.line, `unexpected EOF in define clause`);
          defines.set(defName, inner.list);
          break;
        }
        case 'block': {
          const defName = templateName(action);
          const pipe = action.tokens.length > 2 ? parsePipeline(action, 2, false) : null;
          const outerVars = vars;
          vars = ['$'];
          const inner = parseList(['end']);
          vars = outerVars;
          if (!inner.stop) failAt(action.line, 'unexpected EOF in block clause');
          defines.set(defName, inner.list);
          list.push({ kind: 'template', name: defName, pipe, ref: templateRef(action, defName, pipe) });
          break;
        }
        case 'template': {
          const defName = templateName(action);
          const pipe = action.tokens.length > 2 ? parsePipeline(action, 2, false) : null;
          list.push({ kind: 'template', name: defName, pipe, ref: templateRef(action, defName, pipe) });
          break;
        }
        case 'break':
        case 'continue':
          if (action.tokens.length !== 1) failAt(action.line, `unexpected arguments in {{${word}}}`);
          list.push({ kind: word });
          break;
        default:
          list.push({ kind: 'action', pipe: parsePipeline(action, 0, true) });
      }
    }
    return { list, stop: null, word: null };
  };

  const templateName = (action: Action): string => {
    const tok = action.tokens[1];
    if (tok?.t !== 'string') return failAt(action.line, `expected a quoted template name after ${action.tokens[0]!.v}`);
    return tok.v;
  };

  const templateRef = (action: Action, defName: string, pipe: PipelineNode | null): NodeRef =>
    ref(action.tokens[1]!.pos, `{{template ${JSON.stringify(defName)}${pipe ? ` ${pipe.ref.text}` : ''}}}`);

  const parseControl = (word: 'if' | 'with' | 'range', action: Action, startToken = 1): TemplateNode => {
    const scopeMark = vars.length;
    const control = parseControlInScope(word, action, startToken);
    vars.length = scopeMark;
    return control;
  };

  const parseControlInScope = (word: 'if' | 'with' | 'range', action: Action, startToken: number): TemplateNode => {
    const pipe = parsePipeline(action, startToken, true);
    if (pipe.commands.length === 0) failAt(action.line, `missing value for ${word}`);
    const body = parseList(['end', 'else']);
    if (!body.stop) return failAt(action.line, `unexpected EOF in ${word} clause`);
    let elseList: TemplateNode[] | null = null;
    if (body.word === 'else') {
      const elseAction = body.stop;
      const next = elseAction.tokens[1];
      if (next?.t === 'ident' && (next.v === 'if' || next.v === 'with') && (word === 'if' || word === 'with')) {
        // `{{else if x}}` is an if nested in the else branch that shares this {{end}}.
        elseList = [parseControl(next.v, elseAction, 2)];
        return { kind: word, pipe, list: body.list, elseList };
      }
      if (elseAction.tokens.length !== 1) failAt(elseAction.line, 'unexpected arguments in {{else}}');
      const rest = parseList(['end']);
      if (!rest.stop) failAt(action.line, `unexpected EOF in ${word} clause`);
      elseList = rest.list;
    }
    return { kind: word, pipe, list: body.list, elseList };
  };

  const parsePipeline = (action: Action, from: number, allowDecl: boolean): PipelineNode => {
    const toks = action.tokens;
    let i = from;
    const declare: string[] = [];
    let assign = false;
    if (allowDecl && toks[i]?.t === 'var') {
      // `$x :=`, `$x =`, or `$i, $e :=` (range only).
      let j = i;
      const names: string[] = [];
      while (toks[j]?.t === 'var') {
        names.push(toks[j]!.v as string);
        if (toks[j + 1]?.t === 'op' && toks[j + 1]!.v === ',') j += 2;
        else break;
      }
      const op = toks[j + 1];
      if (op?.t === 'op' && (op.v === ':=' || op.v === '=')) {
        if (names.length > 2) failAt(action.line, 'too many declarations in command');
        declare.push(...names);
        if (op.v === ':=') vars.push(...names);
        assign = op.v === '=';
        i = j + 2;
      }
    }
    const commands: CommandNode[] = [];
    let args: ArgNode[] = [];
    const pipelinePos = toks[from]?.pos ?? 0;
    let commandPos = toks[i]?.pos ?? 0;
    const end = (): void => {
      if (args.length === 0) failAt(action.line, 'missing command in pipeline');
      commands.push(command(args, commandPos));
      args = [];
    };
    // A chain (`.a.b`, `$x.a`) is placed where Go places it: at its second element.
    const chainPos = (tok: Token): number => {
      const second = tok.raw.indexOf('.', 1);
      return second > 0 ? tok.pos + second : tok.pos;
    };
    const parseArg = (): ArgNode => {
      const tok = toks[i++]!;
      switch (tok.t) {
        case 'string':
          return { kind: 'string', value: tok.v, ref: ref(tok.pos, tok.raw) };
        case 'number':
          return { kind: 'number', value: tok.v, ref: ref(tok.pos, tok.raw) };
        case 'field':
          return tok.v === '.'
            ? { kind: 'dot', ref: ref(tok.pos, '.') }
            : { kind: 'field', receiver: null, fields: fieldNames(tok.v), ref: ref(chainPos(tok), tok.v) };
        case 'var': {
          const [varName, ...fields] = tok.v.split('.');
          if (!vars.includes(varName!)) return failAt(action.line, `undefined variable "${varName}"`);
          return { kind: 'variable', name: varName!, fields, ref: ref(chainPos(tok), tok.v) };
        }
        case 'ident':
          if (tok.v === 'true' || tok.v === 'false') return { kind: 'bool', value: tok.v === 'true', ref: ref(tok.pos, tok.v) };
          if (tok.v === 'nil') return { kind: 'nil', ref: ref(tok.pos, tok.v) };
          if (!isFunction(tok.v)) return failAt(action.line, `function "${tok.v}" not defined`);
          return { kind: 'function', name: tok.v, ref: ref(tok.pos, tok.v) };
        case 'op': {
          if (tok.v !== '(') return failAt(action.line, `unexpected "${tok.v}" in operand`);
          const inner = parseInner();
          if (toks[i]?.t !== 'op' || toks[i]!.v !== ')') return failAt(action.line, 'unclosed left paren');
          i++;
          const node: ArgNode = { kind: 'pipeline', pipe: inner, ref: ref(tok.pos, `(${inner.ref.text})`) };
          const next = toks[i];
          if (next?.t === 'field' && next.glued) {
            i++;
            return { kind: 'field', receiver: node, fields: fieldNames(next.v), ref: ref(next.pos, `${node.ref.text}${next.v}`) };
          }
          return node;
        }
      }
    };
    const command = (args: ArgNode[], pos: number): CommandNode => ({ args, ref: ref(pos, args.map((a) => a.ref.text).join(' ')) });
    const pipeline = (pos: number, commands: CommandNode[], declared: string[], isAssign: boolean): PipelineNode => {
      const decl = declared.length > 0 ? `${declared.join(', ')} ${isAssign ? '=' : ':='} ` : '';
      return { ref: ref(pos, decl + commands.map((c) => c.ref.text).join(' | ')), declare: declared, assign: isAssign, commands };
    };
    const parseInner = (): PipelineNode => {
      const innerCommands: CommandNode[] = [];
      let innerArgs: ArgNode[] = [];
      const innerPos = toks[i]?.pos ?? 0;
      let commandPos = innerPos;
      while (i < toks.length) {
        const tok = toks[i]!;
        if (tok.t === 'op' && tok.v === ')') break;
        if (tok.t === 'op' && tok.v === '|') {
          if (innerArgs.length === 0) failAt(action.line, 'missing command in pipeline');
          innerCommands.push(command(innerArgs, commandPos));
          innerArgs = [];
          i++;
          commandPos = toks[i]?.pos ?? 0;
          continue;
        }
        innerArgs.push(parseArg());
      }
      if (innerArgs.length === 0) failAt(action.line, 'missing command in parenthesized pipeline');
      innerCommands.push(command(innerArgs, commandPos));
      return pipeline(innerPos, innerCommands, [], false);
    };
    while (i < toks.length) {
      const tok = toks[i]!;
      if (tok.t === 'op' && tok.v === '|') {
        end();
        i++;
        commandPos = toks[i]?.pos ?? 0;
        continue;
      }
      if (tok.t === 'op' && (tok.v === ')' || tok.v === ',' || tok.v === ':=' || tok.v === '=')) failAt(action.line, `unexpected "${tok.v}" in command`);
      args.push(parseArg());
    }
    if (args.length > 0) end();
    else if (commands.length > 0) failAt(action.line, 'missing command after |');
    if (commands.length === 0 && declare.length > 0) failAt(action.line, 'missing value in declaration');
    for (const c of commands.slice(1)) {
      if (c.args[0]!.kind !== 'function' && c.args[0]!.kind !== 'field' && c.args[0]!.kind !== 'variable') {
        failAt(action.line, 'non executable command in pipeline stage');
      }
    }
    return pipeline(pipelinePos, commands, declare, assign);
  };

  const top = parseList([]);
  return { body: top.list, defines };
}
