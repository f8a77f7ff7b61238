/**
 * Translates a SpanCondition into a DuckDB WHERE expression over the span table. Intrinsics map to
 * columns; attributes are read from the flattened `tags` column with RE2 (an attribute compares
 * only when present, as in TraceQL). User values travel as parameters; attribute keys are
 * escaped into the pattern literal.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { SpanCondition, SpanField } from '../../trace-store.js';
import { TAG_SEPARATOR } from './trace-tables.js';

/** Collects positional parameters ($1, $2, …) while SQL text is built. */
export class SqlParams {
  readonly values: DuckDBValue[] = [];

  add(v: DuckDBValue): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

const INTRINSIC_COLUMNS = {
  name: 'name',
  status: 'status_code',
  kind: 'kind',
  duration: 'duration_ns',
  service: 'service',
  statusMessage: 'status_message',
} as const;

const NUMERIC_INTRINSICS = new Set(['status', 'kind', 'duration']);

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** SQL of one scoped attribute: its presence test and its text value. */
function scopedAttribute(prefix: 'span.' | 'resource.', key: string): { present: string; value: string } {
  if (prefix === 'resource.' && key === 'service.name') return { present: 'TRUE', value: 'service' };
  const entry = `${TAG_SEPARATOR}${prefix}${key}=`;
  return {
    present: `contains(tags, ${sqlString(entry)})`,
    value: `regexp_extract(tags, ${sqlString(`${escapeRegex(entry)}([^${TAG_SEPARATOR}]*)`)}, 1)`,
  };
}

function attributeSql(field: SpanField & { kind: 'attribute' }): { present: string; value: string } {
  if (field.scope === 'span') return scopedAttribute('span.', field.key);
  if (field.scope === 'resource') return scopedAttribute('resource.', field.key);
  const span = scopedAttribute('span.', field.key);
  const resource = scopedAttribute('resource.', field.key);
  return {
    present: `(${span.present} OR ${resource.present})`,
    value: `(CASE WHEN ${span.present} THEN ${span.value} ELSE ${resource.value} END)`,
  };
}

/** The WHERE expression of `c`, adding its values to `params`. */
export function conditionSql(c: SpanCondition, params: SqlParams): string {
  switch (c.op) {
    case 'and':
    case 'or':
      return `(${conditionSql(c.left, params)} ${c.op === 'and' ? 'AND' : 'OR'} ${conditionSql(c.right, params)})`;
    case 'exists':
      return attributeSql(c.field).present;
    case 'cmp':
      return comparisonSql(c, params);
  }
}

function comparisonSql(c: Extract<SpanCondition, { op: 'cmp' }>, params: SqlParams): string {
  let present = 'TRUE';
  let value: string;
  let numericColumn = false;
  if (c.field.kind === 'intrinsic') {
    value = INTRINSIC_COLUMNS[c.field.name];
    numericColumn = NUMERIC_INTRINSICS.has(c.field.name);
  } else {
    const a = attributeSql(c.field);
    present = a.present;
    value = a.value;
  }
  let expr: string;
  if (c.cmp === '=~' || c.cmp === '!~') {
    const match = `regexp_full_match(CAST(${value} AS VARCHAR), ${params.add(String(c.value))})`;
    expr = c.cmp === '=~' ? match : `NOT ${match}`;
  } else if (typeof c.value === 'number') {
    const operand = numericColumn ? value : `TRY_CAST(${value} AS DOUBLE)`;
    expr = `${operand} ${c.cmp} ${params.add(c.value)}`;
  } else {
    const text = String(c.value);
    expr = numericColumn ? `CAST(${value} AS VARCHAR) ${c.cmp} ${params.add(text)}` : `${value} ${c.cmp} ${params.add(text)}`;
  }
  return present === 'TRUE' ? `(${expr})` : `(${present} AND ${expr})`;
}

/** The column expression listing distinct values of a field (tag values). */
export function fieldValueSql(field: SpanField): { present: string; value: string } {
  if (field.kind === 'intrinsic') return { present: 'TRUE', value: `CAST(${INTRINSIC_COLUMNS[field.name]} AS VARCHAR)` };
  return attributeSql(field);
}
