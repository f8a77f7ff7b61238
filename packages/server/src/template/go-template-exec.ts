/**
 * Executes parsed Go templates against JavaScript data with Go's semantics: truthiness, printing
 * (`<no value>` for a missing value), field and method lookup (a Map answers `.key`; a capitalised
 * function on an object or Map is a method), variables scoped to their block, range over arrays
 * and Maps (in sorted key order, as Go ranges maps), and errors worded as Go's: they name the
 * template, the line and column of the node being evaluated, and the node's text.
 * Functions may return promises (Prometheus's `query` is asynchronous here), so execution is async.
 */
import { parseTemplate, TemplateError, type ArgNode, type BlockNode, type NodeRef, type PipelineNode, type TemplateNode } from './go-template-parser.js';
import { formatGoValue } from './go-format.js';

/** A template function; it throws to stop execution with an error, as a Go function returning an error does. */
export type TemplateFunction = (...args: unknown[]) => unknown;

/**
 * Thrown by a template function given an argument of a type its Go counterpart does not take:
 * Go rejects such a call before making it, with `wrong type for value; expected T; got U`.
 */
export class TemplateArgumentTypeError extends Error {
  constructor(
    /** The Go type the function takes, e.g. `template.queryResult`. */
    readonly expected: string,
    readonly actual: unknown,
  ) {
    super(`wrong type for value; expected ${expected}; got ${typeName(actual)}`);
  }
}

/** Go's template truthiness: false, 0, nil, and empty strings, arrays and maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === 0n || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

const MAX_DEPTH = 1000;

type Flow = 'normal' | 'break' | 'continue';

interface Scope {
  readonly vars: { name: string; value: unknown }[];
}

/**
 * A set of named templates sharing their `define`s and functions, like Go's *template.Template.
 * Parsing is synchronous and reports unknown functions; execution is async.
 */
export class TemplateSet {
  private readonly templates = new Map<string, TemplateNode[]>();
  private readonly funcs: Map<string, TemplateFunction>;

  constructor(funcs: Readonly<Record<string, TemplateFunction>>) {
    this.funcs = new Map(Object.entries(funcs));
  }

  /** Parses `text` as the template `name`; its `define`s join the set. Throws TemplateError. */
  parse(name: string, text: string): void {
    const parsed = parseTemplate(name, text, (fn) => this.funcs.has(fn));
    for (const [defName, body] of parsed.defines) this.templates.set(defName, body);
    if (parsed.body.some((n) => n.kind !== 'text' || n.text.trim() !== '') || !this.templates.has(name)) this.templates.set(name, parsed.body);
  }

  has(name: string): boolean {
    return this.templates.has(name);
  }

  /** A copy of this set with more functions (for per-execution functions such as `query`). */
  withFunctions(funcs: Readonly<Record<string, TemplateFunction>>): TemplateSet {
    const copy = new TemplateSet({ ...Object.fromEntries(this.funcs), ...funcs });
    for (const [k, v] of this.templates) copy.templates.set(k, v);
    return copy;
  }

  /** Executes the named template with `data` as dot and `$`. */
  async execute(name: string, data: unknown): Promise<string> {
    const body = this.templates.get(name);
    if (!body) throw new TemplateError(`template: no template ${JSON.stringify(name)} associated with template`);
    const out: string[] = [];
    await new Execution(this, name, out).run(body, data, { vars: [{ name: '$', value: data }] }, 0);
    return out.join('');
  }

  /** Parses and executes a one-off text that may call this set's defined templates. */
  async executeText(name: string, text: string, data: unknown): Promise<string> {
    const copy = this.withFunctions({});
    copy.parse(name, text);
    return copy.execute(name, data);
  }

  /** @internal */
  lookupTemplate(name: string): TemplateNode[] | undefined {
    return this.templates.get(name);
  }

  /** @internal */
  lookupFunction(name: string): TemplateFunction | undefined {
    return this.funcs.get(name);
  }
}

class Execution {
  /** The node being evaluated, which errors name; moved at the same steps as Go's `state.at`. */
  private node: NodeRef | null = null;

  constructor(
    private readonly set: TemplateSet,
    private readonly name: string,
    private readonly out: string[],
  ) {}

  private at(node: NodeRef): void {
    this.node = node;
  }

  private fail(msg: string): never {
    if (this.node === null) throw new TemplateError(`template: ${this.name}: ${msg}`);
    throw new TemplateError(`template: ${this.node.location}: executing ${JSON.stringify(this.name)} at <${this.node.text}>: ${msg}`);
  }

  async run(nodes: readonly TemplateNode[], dot: unknown, scope: Scope, depth: number): Promise<Flow> {
    if (depth > MAX_DEPTH) this.fail(`exceeded maximum template depth (${MAX_DEPTH})`);
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          this.out.push(node.text);
          break;
        case 'action': {
          const v = await this.pipeline(node.pipe, dot, scope);
          if (node.pipe.declare.length === 0) this.out.push(formatGoValue(v));
          break;
        }
        case 'if':
        case 'with': {
          const mark = scope.vars.length;
          const v = await this.pipeline(node.pipe, dot, scope);
          let flow: Flow = 'normal';
          if (isTrue(v)) flow = await this.run(node.list, node.kind === 'with' ? v : dot, scope, depth + 1);
          else if (node.elseList) flow = await this.run(node.elseList, dot, scope, depth + 1);
          scope.vars.length = mark;
          if (flow !== 'normal') return flow;
          break;
        }
        case 'range': {
          const flow = await this.range(node, dot, scope, depth);
          if (flow !== 'normal') return flow;
          break;
        }
        case 'template': {
          this.at(node.ref);
          const body = this.set.lookupTemplate(node.name);
          if (!body) this.fail(`template ${JSON.stringify(node.name)} not defined`);
          const arg = node.pipe ? await this.pipeline(node.pipe, dot, scope) : null;
          const callee = new Execution(this.set, node.name, this.out);
          callee.at(node.ref);
          await callee.run(body!, arg, { vars: [{ name: '$', value: arg }] }, depth + 1);
          break;
        }
        case 'break':
        case 'continue':
          return node.kind;
      }
    }
    return 'normal';
  }

  private async range(node: BlockNode, dot: unknown, scope: Scope, depth: number): Promise<Flow> {
    const mark = scope.vars.length;
    const pipe = { ...node.pipe, declare: [] };
    const v = await this.pipeline(pipe, dot, scope);
    const entries: [unknown, unknown][] = [];
    if (Array.isArray(v)) v.forEach((e, i) => entries.push([BigInt(i), e]));
    else if (v instanceof Map) for (const k of [...v.keys()].sort()) entries.push([k, v.get(k)]);
    else if (typeof v === 'bigint') for (let i = 0n; i < v; i++) entries.push([i, i]);
    else if (v !== null && v !== undefined && typeof v === 'object') for (const k of Object.keys(v).sort()) entries.push([k, (v as Record<string, unknown>)[k]]);
    else if (v !== null && v !== undefined) this.fail(`range can't iterate over ${formatGoValue(v)}`);
    if (entries.length === 0) {
      const flow = node.elseList ? await this.run(node.elseList, dot, scope, depth + 1) : 'normal';
      scope.vars.length = mark;
      return flow === 'normal' ? 'normal' : flow;
    }
    for (const [key, elem] of entries) {
      const names = node.pipe.declare;
      if (names.length === 1) scope.vars.push({ name: names[0]!, value: elem });
      if (names.length === 2) scope.vars.push({ name: names[0]!, value: key }, { name: names[1]!, value: elem });
      const flow = await this.run(node.list, elem, scope, depth + 1);
      scope.vars.length = mark;
      if (flow === 'break') break;
    }
    return 'normal';
  }

  private async pipeline(pipe: PipelineNode, dot: unknown, scope: Scope): Promise<unknown> {
    this.at(pipe.ref);
    let value: unknown = undefined;
    let first = true;
    for (const cmd of pipe.commands) {
      value = await this.command(cmd.args, cmd.ref, dot, scope, first ? [] : [value]);
      first = false;
    }
    for (const name of pipe.declare) {
      if (pipe.assign) {
        const slot = [...scope.vars].reverse().find((v) => v.name === name);
        if (!slot) this.fail(`undefined variable: ${name}`);
        slot!.value = value;
      } else {
        scope.vars.push({ name, value });
      }
    }
    return value;
  }

  private async command(args: readonly ArgNode[], cmd: NodeRef, dot: unknown, scope: Scope, piped: unknown[]): Promise<unknown> {
    const head = args[0]!;
    // Arguments are evaluated one after another, as in Go, so an error names the first failing one.
    const rest = async (): Promise<unknown[]> => {
      const values: unknown[] = [];
      for (const a of args.slice(1)) values.push(await this.arg(a, dot, scope));
      return [...values, ...piped];
    };
    if (head.kind === 'function') {
      this.at(head.ref);
      return this.call(head.name, await rest(), cmd);
    }
    if (head.kind === 'field' || (head.kind === 'variable' && head.fields.length > 0)) {
      this.at(head.ref);
      // The final field may be a method taking the remaining arguments.
      const fields = head.fields;
      let receiver: unknown = head.kind === 'variable' ? this.variable(head.name, scope) : head.receiver ? await this.arg(head.receiver, dot, scope) : dot;
      for (let i = 0; i < fields.length - 1; i++) receiver = this.field(receiver, fields[i]!, []);
      return this.field(receiver, fields[fields.length - 1]!, await rest());
    }
    if (head.kind !== 'pipeline') this.at(head.ref);
    if (args.length > 1 || piped.length > 0) this.fail(`can't give argument to non-function ${head.kind === 'pipeline' ? head.pipe.ref.text : head.ref.text}`);
    return this.arg(head, dot, scope);
  }

  /** Calls a template function; a JavaScript error becomes Go's `error calling NAME: ...` at the command. */
  private async call(name: string, args: unknown[], cmd: NodeRef): Promise<unknown> {
    const fn = this.set.lookupFunction(name)!;
    try {
      return await fn(...args);
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      if (err instanceof TemplateArgumentTypeError) return this.fail(err.message);
      this.at(cmd);
      return this.fail(`error calling ${name}: ${(err as Error).message}`);
    }
  }

  private async arg(a: ArgNode, dot: unknown, scope: Scope): Promise<unknown> {
    this.at(a.ref);
    switch (a.kind) {
      case 'dot':
        return dot;
      case 'string':
      case 'number':
      case 'bool':
        return a.value;
      case 'nil':
        return null;
      case 'variable': {
        let v = this.variable(a.name, scope);
        for (const f of a.fields) v = this.field(v, f, []);
        return v;
      }
      case 'field': {
        let v = a.receiver ? await this.arg(a.receiver, dot, scope) : dot;
        for (const f of a.fields) v = this.field(v, f, []);
        return v;
      }
      case 'function':
        return this.call(a.name, [], a.ref);
      case 'pipeline':
        return this.pipeline(a.pipe, dot, scope);
    }
  }

  private variable(name: string, scope: Scope): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.name === name) return scope.vars[i]!.value;
    return this.fail(`undefined variable: ${name}`);
  }

  private field(receiver: unknown, name: string, args: unknown[]): unknown {
    if (receiver === null || receiver === undefined) return this.fail(`nil pointer evaluating interface {}.${name}`);
    const method = /^[A-Z]/.test(name) ? (receiver as Record<string, unknown>)[name] : undefined;
    if (typeof method === 'function') return (method as (...a: unknown[]) => unknown).apply(receiver, args);
    if (args.length > 0) return this.fail(`${name} is not a method but has arguments`);
    if (receiver instanceof Map) return receiver.has(name) ? receiver.get(name) : '';
    if (typeof receiver === 'object' && name in receiver) return (receiver as Record<string, unknown>)[name];
    return this.fail(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  return (v as object).constructor?.name ?? 'object';
}
