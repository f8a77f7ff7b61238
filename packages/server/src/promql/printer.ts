/** Prints an AST back as canonical PromQL, as Prometheus's Expr.String() does (format_query). */
import { isLegacyLabelName, isLegacyMetricName } from '../model/labels.js';
import type { AtModifier, Expr, VectorSelector } from './ast.js';
import { formatFloat } from './float-math.js';
import { formatDuration } from './lexical.js';

function labelName(name: string): string {
  return isLegacyLabelName(name) ? name : JSON.stringify(name);
}

function joinLabels(names: readonly string[]): string {
  return names.map(labelName).join(', ');
}

function modifiers(at: AtModifier | null, offsetMs: number): string {
  let out = '';
  if (at) out += at.kind === 'time' ? ` @ ${(at.ms / 1000).toFixed(3)}` : ` @ ${at.kind}()`;
  if (offsetMs !== 0) out += ` offset ${formatDuration(offsetMs)}`;
  return out;
}

function selector(v: VectorSelector): string {
  const matchers = v.matchers.filter((m) => !(v.name !== '' && m.name === '__name__' && m.type === '=' && m.value === v.name));
  const parts = matchers.map((m) => `${labelName(m.name)}${m.type}${JSON.stringify(m.value)}`);
  let name = v.name;
  if (name !== '' && !isLegacyMetricName(name)) {
    parts.unshift(JSON.stringify(name));
    name = '';
  }
  return parts.length === 0 ? name : `${name}{${parts.join(', ')}}`;
}

/** Canonical single-line PromQL text of an expression. */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'number':
      return formatFloat(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'paren':
      return `(${formatExpr(e.expr)})`;
    case 'unary':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'vector':
      return selector(e) + modifiers(e.at, e.offsetMs) + (e.boundary ? ` ${e.boundary}` : '');
    case 'matrix':
      return `${selector(e.vector)}[${formatDuration(e.rangeMs)}]${modifiers(e.vector.at, e.vector.offsetMs)}${e.vector.boundary ? ` ${e.vector.boundary}` : ''}`;
    case 'subquery':
      return `${formatExpr(e.expr)}[${formatDuration(e.rangeMs)}:${e.stepMs > 0 ? formatDuration(e.stepMs) : ''}]${modifiers(e.at, e.offsetMs)}`;
    case 'call':
      return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
    case 'aggregate': {
      let op: string = e.op;
      if (e.without) op += ` without (${joinLabels(e.grouping)}) `;
      else if (e.grouping.length > 0) op += ` by (${joinLabels(e.grouping)}) `;
      return `${op}(${e.param ? `${formatExpr(e.param)}, ` : ''}${formatExpr(e.expr)})`;
    }
    case 'binary': {
      let matching = '';
      const m = e.matching;
      if (m && (m.labels.length > 0 || m.on)) {
        matching = ` ${m.on ? 'on' : 'ignoring'} (${joinLabels(m.labels)})`;
        if (m.card === 'many-to-one' || m.card === 'one-to-many') {
          matching += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${joinLabels(m.include)})`;
        }
      }
      let fill = '';
      if (e.fill) {
        const { left, right } = e.fill;
        if (left !== null && right !== null && Object.is(left, right)) fill = ` fill(${formatFloat(left)})`;
        else {
          if (left !== null) fill += ` fill_left(${formatFloat(left)})`;
          if (right !== null) fill += ` fill_right(${formatFloat(right)})`;
        }
      }
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${matching}${fill} ${formatExpr(e.rhs)}`;
    }
  }
}
