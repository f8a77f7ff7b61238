/** The LogQL syntax tree of the supported subset. Durations are nanoseconds (bigint). */
import type { Matcher } from '../model/matchers.js';

export type LineFilterOp = '|=' | '!=' | '|~' | '!~';

export interface LineFilterStage {
  readonly kind: 'line_filter';
  readonly op: LineFilterOp;
  readonly value: string;
}

export type LabelCompareOp = '=' | '!=' | '=~' | '!~' | '==' | '>' | '>=' | '<' | '<=';

/** `name op value`: string comparison (value is text) or numeric (value is a number or duration in seconds). */
export interface LabelPredicate {
  readonly kind: 'predicate';
  readonly name: string;
  readonly op: LabelCompareOp;
  readonly value: string | number;
}

export interface LabelLogic {
  readonly kind: 'and' | 'or';
  readonly left: LabelExpr;
  readonly right: LabelExpr;
}

export type LabelExpr = LabelPredicate | LabelLogic;

export interface LabelFilterStage {
  readonly kind: 'label_filter';
  readonly expr: LabelExpr;
}

/** `| json` (all fields) or `| json a="x.y", b` (selected paths). */
export interface JsonStage {
  readonly kind: 'json';
  readonly params: readonly { readonly name: string; readonly path: string }[];
}

export interface LogfmtStage {
  readonly kind: 'logfmt';
}

/** `| line_format "{{.a}} text"`: only `{{.label}}` references are supported. */
export interface LineFormatStage {
  readonly kind: 'line_format';
  readonly template: string;
}

/** `| label_format a=b, c="{{.d}}"`: rename (from a label) or template. */
export interface LabelFormatStage {
  readonly kind: 'label_format';
  readonly items: readonly { readonly name: string; readonly from: string | null; readonly template: string | null }[];
}

/** `| drop a, b="x"` removes labels (those named, or only where they equal the value); `| keep a, b` keeps only those. */
export interface DropKeepStage {
  readonly kind: 'drop' | 'keep';
  readonly items: readonly { readonly name: string; readonly value: string | null }[];
}

export type Stage = LineFilterStage | LabelFilterStage | JsonStage | LogfmtStage | LineFormatStage | LabelFormatStage | DropKeepStage;

export interface LogSelectorExpr {
  readonly type: 'log';
  readonly matchers: readonly Matcher[];
  readonly stages: readonly Stage[];
}

export type RangeFunction = 'count_over_time' | 'rate' | 'bytes_over_time' | 'bytes_rate';

export interface RangeAggregationExpr {
  readonly type: 'range';
  readonly fn: RangeFunction;
  readonly selector: LogSelectorExpr;
  readonly rangeNs: bigint;
  readonly offsetNs: bigint;
}

export type VectorOp = 'sum' | 'count' | 'avg' | 'max' | 'min' | 'topk' | 'bottomk';

export interface VectorAggregationExpr {
  readonly type: 'aggregate';
  readonly op: VectorOp;
  /** k of topk/bottomk; null otherwise. */
  readonly param: number | null;
  readonly grouping: { readonly without: boolean; readonly labels: readonly string[] } | null;
  readonly expr: MetricExpr;
}

export type MetricExpr = RangeAggregationExpr | VectorAggregationExpr;

export type LogQLExpr = LogSelectorExpr | MetricExpr;
