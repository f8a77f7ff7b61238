/** Argument and return types of every PromQL function, used by the parser's type checks. */
import type { ValueType } from './ast.js';

export interface FunctionSignature {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /** Number of trailing arguments that may be left out (-1: the last one repeats without limit). */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Behind Prometheus's experimental-functions flag. */
  readonly experimental: boolean;
}

const sig = (
  name: string,
  argTypes: ValueType[],
  returnType: ValueType = 'vector',
  variadic = 0,
  experimental = false,
): FunctionSignature => ({ name, argTypes, variadic, returnType, experimental });

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

const list: FunctionSignature[] = [
  sig('abs', [V]),
  sig('absent', [V]),
  sig('absent_over_time', [M]),
  sig('acos', [V]),
  sig('acosh', [V]),
  sig('asin', [V]),
  sig('asinh', [V]),
  sig('atan', [V]),
  sig('atanh', [V]),
  sig('avg_over_time', [M]),
  sig('ceil', [V]),
  sig('changes', [M]),
  sig('clamp', [V, S, S]),
  sig('clamp_max', [V, S]),
  sig('clamp_min', [V, S]),
  sig('cos', [V]),
  sig('cosh', [V]),
  sig('count_over_time', [M]),
  sig('days_in_month', [V], V, 1),
  sig('day_of_month', [V], V, 1),
  sig('day_of_week', [V], V, 1),
  sig('day_of_year', [V], V, 1),
  sig('deg', [V]),
  sig('delta', [M]),
  sig('deriv', [M]),
  sig('exp', [V]),
  sig('first_over_time', [M], V, 0, true),
  sig('floor', [V]),
  sig('histogram_avg', [V]),
  sig('histogram_count', [V]),
  sig('histogram_fraction', [S, S, V]),
  sig('histogram_quantile', [S, V]),
  sig('histogram_quantiles', [V, STR, S], V, -1, true),
  sig('histogram_sum', [V]),
  sig('histogram_stddev', [V]),
  sig('histogram_stdvar', [V]),
  sig('double_exponential_smoothing', [M, S, S], V, 0, true),
  sig('hour', [V], V, 1),
  sig('idelta', [M]),
  sig('increase', [M]),
  sig('info', [V, V], V, 1, true),
  sig('irate', [M]),
  sig('label_replace', [V, STR, STR, STR, STR]),
  sig('label_join', [V, STR, STR, STR], V, -1),
  sig('last_over_time', [M]),
  sig('ln', [V]),
  sig('log10', [V]),
  sig('log2', [V]),
  sig('mad_over_time', [M], V, 0, true),
  sig('max_over_time', [M]),
  sig('min_over_time', [M]),
  sig('ts_of_first_over_time', [M], V, 0, true),
  sig('ts_of_last_over_time', [M], V, 0, true),
  sig('ts_of_max_over_time', [M], V, 0, true),
  sig('ts_of_min_over_time', [M], V, 0, true),
  sig('minute', [V], V, 1),
  sig('month', [V], V, 1),
  sig('pi', [], S),
  sig('predict_linear', [M, S]),
  sig('present_over_time', [M]),
  sig('quantile_over_time', [S, M]),
  sig('rad', [V]),
  sig('rate', [M]),
  sig('resets', [M]),
  sig('round', [V, S], V, 1),
  sig('scalar', [V], S),
  sig('sgn', [V]),
  sig('sin', [V]),
  sig('sinh', [V]),
  sig('sort', [V]),
  sig('sort_desc', [V]),
  sig('sort_by_label', [V, STR], V, -1, true),
  sig('sort_by_label_desc', [V, STR], V, -1, true),
  sig('sqrt', [V]),
  sig('start_timestamp', [V], V, 0, true),
  sig('stddev_over_time', [M]),
  sig('stdvar_over_time', [M]),
  sig('sum_over_time', [M]),
  sig('tan', [V]),
  sig('tanh', [V]),
  sig('time', [], S),
  sig('timestamp', [V]),
  sig('vector', [S]),
  sig('year', [V], V, 1),
  sig('start', [], S, 0, true),
  sig('end', [], S, 0, true),
  sig('range', [], S, 0, true),
  sig('step', [], S, 0, true),
];

/** Signatures by function name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map(list.map((f) => [f.name, f]));
