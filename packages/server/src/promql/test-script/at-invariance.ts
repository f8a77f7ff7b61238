/**
 * The reference harness's @-modifier invariance check: pinning every selector and subquery to
 * the eval time with `@` must not change the answer when evaluated at other times.
 */
import type { Expr } from '../ast.js';

/** Functions whose value depends on the evaluation time; queries calling them are not rewritten. */
const TIME_DEPENDENT = new Set([
  'time',
  'timestamp',
  'minute',
  'hour',
  'day_of_week',
  'day_of_month',
  'day_of_year',
  'days_in_month',
  'month',
  'year',
  'predict_linear',
  'start',
  'end',
  'range',
  'step',
]);

function callsTimeDependent(e: Expr): boolean {
  switch (e.type) {
    case 'call':
      return TIME_DEPENDENT.has(e.func) || e.args.some(callsTimeDependent);
    case 'paren':
    case 'unary':
    case 'subquery':
      return callsTimeDependent(e.expr);
    case 'binary':
      return callsTimeDependent(e.lhs) || callsTimeDependent(e.rhs);
    case 'aggregate':
      return callsTimeDependent(e.expr) || (e.param !== null && callsTimeDependent(e.param));
    default:
      return false;
  }
}

/** Sets `@ ms` on every selector and subquery without one (not inside subqueries), in place. */
function pin(e: Expr, ms: number): void {
  switch (e.type) {
    case 'vector':
      if (!e.at) e.at = { kind: 'time', ms };
      return;
    case 'matrix':
      pin(e.vector, ms);
      return;
    case 'subquery':
      // The harness pins a subquery before visiting its body, which then counts as "inside a
      // subquery that has @" and stays as written.
      if (!e.at) e.at = { kind: 'time', ms };
      return;
    case 'paren':
    case 'unary':
      pin(e.expr, ms);
      return;
    case 'binary':
      pin(e.lhs, ms);
      pin(e.rhs, ms);
      return;
    case 'aggregate':
      pin(e.expr, ms);
      if (e.param) pin(e.param, ms);
      return;
    case 'call':
      for (const a of e.args) pin(a, ms);
      return;
    default:
      return;
  }
}

/** Pins a freshly parsed expression to `evalMs`; false when the check does not apply. */
export function pinToEvalTime(e: Expr, evalMs: number): boolean {
  if (callsTimeDependent(e)) return false;
  pin(e, evalMs);
  return true;
}

/** The extra evaluation times of the check, ms. */
export function invarianceTimes(evalMs: number): number[] {
  if (evalMs === 0) return [-1000, 0, 1000];
  return [-10 * evalMs, 0, evalMs / 5, evalMs, 10 * evalMs].map(Math.round);
}
