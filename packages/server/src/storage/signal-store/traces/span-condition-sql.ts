/**
 * Translates a SpanCondition into a DuckDB WHERE expression over the span table. Intrinsics map to
 * columns; span attributes are read from the span's flattened `tags`, resource attributes from its
 * origin's (span_origins, a few rows per producer, so they cost a small subquery, not a scan of
 * every span). An attribute compares only when present, as in TraceQL; an unscoped `.key`
 * matches the span's or the resource's. Every user value and key travels as a parameter.
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
  statusMessage: "coalesce(status_message, '')",
} as const;

const NUMERIC_INTRINSICS = new Set(['status', 'kind', 'duration']);

/** One scoped attribute: where it lives and its entry prefix in a `tags` column (`\x1fspan.key=`). */
interface ScopedAttribute {
  /** Resource attributes live in span_origins.tags, reached through the span's origin_id. */
  readonly resource: boolean;
  /** The service column stands for resource.service.name, which the tags leave out. */
  readonly column: string | null;
  readonly entry: string;
}

function scoped(prefix: 'span.' | 'resource.', key: string): ScopedAttribute {
  const resource = prefix === 'resource.';
  if (resource && key === 'service.name') return { resource, column: 'service', entry: '' };
  return { resource, column: null, entry: `${TAG_SEPARATOR}${prefix}${key}=` };
}

/** The scopes an attribute field reads: one, or span then resource for an unscoped `.key`. */
export function scopesOf(field: SpanField & { kind: 'attribute' }): ScopedAttribute[] {
  if (field.scope === 'span') return [scoped('span.', field.key)];
  if (field.scope === 'resource') return [scoped('resource.', field.key)];
  return [scoped('span.', field.key), scoped('resource.', field.key)];
}

/** Applies a condition on `tags` to the span's own tags or, for resource attributes, to its origin's. */
function onTags(a: ScopedAttribute, condition: string): string {
  return a.resource ? `origin_id IN (SELECT origin_id FROM span_origins WHERE ${condition})` : condition;
}

/** True where the attribute's entry is in `tags`. */
export function tagPresentSql(a: ScopedAttribute, params: SqlParams): string {
  return `contains(tags, ${params.add(a.entry)})`;
}

/** The attribute's text value in `tags`; only meaningful where tagPresentSql holds. */
export function tagValueSql(a: ScopedAttribute, params: SqlParams): string {
  return `split_part(split_part(tags, ${params.add(a.entry)}, 2), '${TAG_SEPARATOR}', 1)`;
}

/** The WHERE expression of `c` over the span table, adding its values to `params`. */
export function conditionSql(c: SpanCondition, params: SqlParams): string {
  switch (c.op) {
    case 'and':
    case 'or':
      return `(${conditionSql(c.left, params)} ${c.op === 'and' ? 'AND' : 'OR'} ${conditionSql(c.right, params)})`;
    case 'exists':
      return `(${scopesOf(c.field)
        .map((a) => (a.column !== null ? 'TRUE' : onTags(a, tagPresentSql(a, params))))
        .join(' OR ')})`;
    case 'cmp':
      if (c.field.kind === 'intrinsic') return intrinsicSql(c, c.field.name, params);
      return `(${scopesOf(c.field)
        .map((a) => attributeComparisonSql(a, c, params))
        .join(' OR ')})`;
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
  if (c.cmp === '=' && typeof c.value !== 'number') return onTags(a, `contains(tags, ${params.add(a.entry + text + TAG_SEPARATOR)})`);
  const present = tagPresentSql(a, params);
  if (c.cmp === '!=' && typeof c.value !== 'number') return onTags(a, `(${present} AND NOT contains(tags, ${params.add(a.entry + text + TAG_SEPARATOR)}))`);
  const value = tagValueSql(a, params);
  if (c.cmp === '=~' || c.cmp === '!~') return onTags(a, `(${present} AND ${c.cmp === '!~' ? 'NOT ' : ''}regexp_full_match(${value}, ${params.add(text)}))`);
  if (typeof c.value === 'number') return onTags(a, `(${present} AND TRY_CAST(${value} AS DOUBLE) ${c.cmp} ${params.add(c.value)})`);
  return onTags(a, `(${present} AND ${value} ${c.cmp} ${params.add(text)})`);
}

/** The SQL text of an intrinsic column's value (tag values). */
export function intrinsicValueSql(name: keyof typeof INTRINSIC_COLUMNS): string {
  return `CAST(${INTRINSIC_COLUMNS[name]} AS VARCHAR)`;
}
