/**
 * A side table of distinct texts (stream label sets, resources) keyed by small sequential integer
 * ids and mirrored in memory, so each line stores a 4-byte id (bit-packed by DuckDB) instead of
 * repeating the text. Every write that uses a not yet committed text carries its row, in the same
 * transaction as the lines, so no committed line can refer to a missing row (duplicates are
 * harmless: loading reads DISTINCT rows). Retention drops rows no line refers to, except those a
 * pending write still needs.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnBatch, TableSchema } from './table-schema.js';

/** The new texts one write introduces, and what to do when it commits or settles. */
export interface InternBatch {
  /** The id of `text`, a new one (written with this batch) when the text is not yet stored. */
  idOf(text: string): number;
  /** Rows for the texts this batch introduces (possibly none). */
  rows(): ColumnBatch;
  /** Makes this batch's texts visible (call after commit). */
  committed(): void;
  /** Releases the batch's hold on its ids (call when the write settled, committed or not). */
  release(): void;
}

export class InternedTable<V> {
  private readonly valueById = new Map<number, V>();
  private readonly idByText = new Map<string, number>();
  /** Ids handed out to writes not yet committed, by text. */
  private readonly uncommitted = new Map<string, number>();
  private readonly pendingRefs = new Map<number, number>();
  private nextId = 1;

  constructor(
    /** A two-column table: (id INTEGER, text VARCHAR). */
    readonly table: TableSchema,
    private readonly parse: (text: string) => V,
  ) {}

  async load(conn: DuckDBConnection): Promise<void> {
    const [idCol, textCol] = this.table.columns;
    const reader = await conn.runAndReadAll(`SELECT DISTINCT ${idCol!.name}, ${textCol!.name} FROM ${this.table.name}`);
    for (const [id, text] of reader.getRows()) {
      this.remember(id as number, text as string);
      this.nextId = Math.max(this.nextId, (id as number) + 1);
    }
  }

  private remember(id: number, text: string): void {
    this.valueById.set(id, this.parse(text));
    this.idByText.set(text, id);
    this.uncommitted.delete(text);
  }

  /** The parsed value of a committed id. */
  get(id: number): V | undefined {
    return this.valueById.get(id);
  }

  /** The committed id of a text, if stored. */
  committedId(text: string): number | undefined {
    return this.idByText.get(text);
  }

  entries(): IterableIterator<[number, V]> {
    return this.valueById.entries();
  }

  get size(): number {
    return this.valueById.size;
  }

  batch(): InternBatch {
    const fresh = new Map<string, number>();
    const used = new Set<number>();
    return {
      idOf: (text) => {
        let id = this.idByText.get(text);
        if (id === undefined) {
          id = fresh.get(text) ?? this.uncommitted.get(text);
          if (id === undefined) {
            id = this.nextId++;
            this.uncommitted.set(text, id);
          }
          fresh.set(text, id);
        }
        if (!used.has(id)) {
          used.add(id);
          this.pendingRefs.set(id, (this.pendingRefs.get(id) ?? 0) + 1);
        }
        return id;
      },
      rows: () => {
        const ids: number[] = [];
        const texts: string[] = [];
        for (const [text, id] of fresh) {
          ids.push(id);
          texts.push(text);
        }
        return { table: this.table, rowCount: ids.length, columns: [ids, texts] };
      },
      committed: () => {
        for (const [text, id] of fresh) if (!this.valueById.has(id)) this.remember(id, text);
      },
      release: () => {
        for (const id of used) {
          const left = (this.pendingRefs.get(id) ?? 0) - 1;
          if (left > 0) this.pendingRefs.set(id, left);
          else this.pendingRefs.delete(id);
        }
      },
    };
  }

  /** Deletes rows whose id no row of `refTable.refColumn` uses and no pending write needs. */
  async dropOrphans(conn: DuckDBConnection, refTable: string, refColumn: string): Promise<void> {
    const idName = this.table.columns[0]!.name;
    const orphans = await conn.runAndReadAll(
      `SELECT DISTINCT ${idName} FROM ${this.table.name} WHERE ${idName} NOT IN (SELECT DISTINCT ${refColumn} FROM ${refTable})`,
    );
    const ids = orphans
      .getRows()
      .map((r) => r[0] as number)
      .filter((id) => !this.pendingRefs.has(id));
    if (ids.length === 0) return;
    await conn.run(`DELETE FROM ${this.table.name} WHERE ${idName} IN (${ids.join(',')})`);
    for (const id of ids) this.valueById.delete(id);
    for (const [text, id] of this.idByText) if (!this.valueById.has(id)) this.idByText.delete(text);
  }
}
