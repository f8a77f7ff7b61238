/**
 * How rules query: an instant query through the PromQL engine whose result must be a vector or a
 * scalar (a scalar becomes one sample without labels), as Prometheus's EngineQueryFunc.
 */
import type { Labels } from '../model/labels.js';
import type { Engine } from '../promql/index.js';
import type { Queryable } from '../storage/interfaces.js';

/** A sample a rule query returns or a rule writes. Times are Unix ms. */
export interface RuleSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** Evaluates `expr` at `timeMs`; throws with the engine's message on failure. */
export type RuleQuery = (expr: string, timeMs: number) => Promise<RuleSample[]>;

/** The query function rules use, over `queryable` with `engine`. */
export function engineRuleQuery(engine: Engine, queryable: Queryable): RuleQuery {
  return async (expr, timeMs) => {
    const result = await engine.instantQuery(queryable, expr, timeMs);
    switch (result.resultType) {
      case 'vector':
        return result.result.map((s) => ({ labels: s.metric, t: s.t, v: s.v }));
      case 'scalar':
        return [{ labels: [], t: result.result.t, v: result.result.v }];
      default:
        throw new Error('rule result is not a vector or scalar');
    }
  };
}
