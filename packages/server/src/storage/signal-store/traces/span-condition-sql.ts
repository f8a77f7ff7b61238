/**
 * Translates a SpanCondition into a DuckDB WHERE expression over the span table. Intrinsics map to
 * columns; attributes are read from the flattened `tags` column (an attribute compares only when
 * present, as in TraceQL; an unscoped `.key` matches the span's or the resource's). Every user
 * value and key travels as a parameter.
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

/** SQL of one scoped attribute: the tags entry prefix (`\x1fspan.key=`) and its text value. */
interface ScopedAttribute {
  /** The service column stands for resource.service.name, which the tags leave out. */
  readonly column: string | null;
  readonly entry: string;
}

function scoped(prefix: 'span.' | 'resource.', key: string): ScopedAttribute {
  if (prefix === 'resource.' && key === 'service.name') return { column: 'service', entry: '' };
  return { column: null, entry: `${TAG_SEPARATOR}${prefix}${key}=` };
}

function scopesOf(field: SpanField & { kind: 'attribute' }): ScopedAttribute[] {
  if (field.scope === 'span') return [scoped('span.', field.key)];
  if (field.scope === 'resource') return [scoped('resource.', field.key)];
  return [scoped('span.', field.key), scoped('resource.', field.key)];
}

function presentSql(a: ScopedAttribute, params: SqlParams): string {
  return a.column !== null ? 'TRUE' : `contains(tags, ${params.add(a.entry)})`;
}

/** The attribute's text value; only meaningful where presentSql holds. */
function valueSql(a: ScopedAttribute, params: SqlParams): string {
  if (a.column !== null) return a.column;
  return `split_part(split_part(tags, ${params.add(a.entry)}, 2), '${TAG_SEPARATOR}', 1)`;
}

/** The WHERE expression of `c`, adding its values to `params`. */
export function conditionSql(c: SpanCondition, params: SqlParams): string {
  switch (c.op) {
    case 'and':
    case 'or':
      return `(${conditionSql(c.left, params)} ${c.op === 'and' ? 'AND' : 'OR'} ${conditionSql(c.right, params)})`;
    case 'exists':
      return `(${scopesOf(c.field).map((a) => presentSql(a, params)).join(' OR ')})`;
    case 'cmp':
      if (c.field.kind === 'intrinsic') return intrinsicSql(c, c.field.name, params);
      return `(${scopesOf(c.field).map((a) => attributeComparisonSql(a, c, params)).join(' OR ')})`;
  }
}

type Comparison = Extract<SpanCondition, { op: 'cmp' }>;

function intrinsicSql(c: Comparison, name: keyof typeof INTRINSIC_COLUMNS, params: SqlParams): string {
  const column = INTRINSIC_COLUMNS[name];
  const numeric = NUMERIC_INTRINSICS.has(name);
  if (c.cmp === '=~' || c.cmp === '!~') {
    const match = `regexp_full_match(CAST(${column} AS VARCHAR), ${params.add(String(c.value))})`;
    return c.cmp === '=~' ? `(${match})` : `(NOT ${match})`;
  }
  if (typeof c.value === 'number') return `(${column} ${c.cmp} ${params.add(c.value)})`;
  return `(${numeric ? `CAST(${column} AS VARCHAR)` : column} ${c.cmp} ${params.add(String(c.value))})`;
}

/** An attribute comparison; the attribute must be present (TraceQL semantics). */
function attributeComparisonSql(a: ScopedAttribute, c: Comparison, params: SqlParams): string {
  const text = String(c.value);
  if (a.column !== null) {
    if (c.cmp === '=~' || c.cmp === '!~') return `(${c.cmp === '!~' ? 'NOT ' : ''}regexp_full_match(${a.column}, ${params.add(text)}))`;
    if (typeof c.value === 'number') return `(TRY_CAST(${a.column} AS DOUBLE) ${c.cmp} ${params.add(c.value)})`;
    return `(${a.column} ${c.cmp} ${params.add(text)})`;
  }
  // Exact text equality is a substring test of the whole entry: far cheaper than extracting the value.
  if (c.cmp === '=' && typeof c.value !== 'number') return `contains(tags, ${params.add(a.entry + text + TAG_SEPARATOR)})`;
  const present = presentSql(a, params);
  if (c.cmp === '!=' && typeof c.value !== 'number') return `(${present} AND NOT contains(tags, ${params.add(a.entry + text + TAG_SEPARATOR)}))`;
  const value = valueSql(a, params);
  if (c.cmp === '=~' || c.cmp === '!~') return `(${present} AND ${c.cmp === '!~' ? 'NOT ' : ''}regexp_full_match(${value}, ${params.add(text)}))`;
  if (typeof c.value === 'number') return `(${present} AND TRY_CAST(${value} AS DOUBLE) ${c.cmp} ${params.add(c.value)})`;
  return `(${present} AND ${value} ${c.cmp} ${params.add(text)})`;
}

/** The text value of a field and the condition under which it is present (tag values). */
export function fieldValueSql(field: SpanField, params: SqlParams): { present: string; value: string } {
  if (field.kind === 'intrinsic') return { present: 'TRUE', value: `CAST(${INTRINSIC_COLUMNS[field.name]} AS VARCHAR)` };
  const scopes = scopesOf(field);
  if (scopes.length === 1) return { present: presentSql(scopes[0]!, params), value: valueSql(scopes[0]!, params) };
  const [span, resource] = scopes as [ScopedAttribute, ScopedAttribute];
  const spanPresent = presentSql(span, params);
  return {
    present: `(${spanPresent} OR ${presentSql(resource, params)})`,
    value: `(CASE WHEN ${spanPresent} THEN ${valueSql(span, params)} ELSE ${valueSql(resource, params)} END)`,
  };
}
