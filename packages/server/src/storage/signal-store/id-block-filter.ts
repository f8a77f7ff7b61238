/**
 * Bloom filters over the request-id and trace-id hashes of each block of 65,536 consecutive line
 * sequence numbers, so an exact-id lookup reads only the blocks that may hold the id instead of
 * the hash column of every line. Lines are stored in seq order, so a block's seq range prunes
 * DuckDB row groups by their zone maps. A filter has 2^20 bits (128 KiB) for the block's up to
 * 131,072 ids, 8 bits an id with 6 probes: about 2 % of the blocks without the id are read too.
 *
 * Filters live in memory (about 2 bytes a line) and a full block's filter is stored in
 * `log_id_filters` in the same transaction as the write that starts the next block. A block with
 * lines but no stored filter (the open block, a block whose storing write failed, a database
 * written before the filters existed) is rebuilt from the lines on open.
 */
import type { DuckDBBlobValue, DuckDBConnection } from '@duckdb/node-api';
import { appendColumnBatches } from './column-appender.js';
import type { ColumnBatch, TableSchema } from './table-schema.js';

export const LOG_ID_FILTERS_TABLE: TableSchema = {
  name: 'log_id_filters',
  columns: [
    { name: 'block', kind: 'bigint' },
    { name: 'bits', kind: 'blob' },
  ],
  migrations: ['CREATE TABLE log_id_filters (block BIGINT NOT NULL, bits BLOB NOT NULL)'],
  timeColumn: null,
};

/** Lines (sequence numbers) per block. */
export const ID_BLOCK_ROWS = 65_536;
const FILTER_BITS = 1 << 20;
const BIT_MASK = FILTER_BITS - 1;
const PROBES = 6;

/** The block of a sequence number (sequence numbers start at 1). */
function blockOf(seq: number): number {
  return Math.floor((seq - 1) / ID_BLOCK_ROWS);
}

/** Full blocks one write stores, and what to do when it commits or fails. */
export interface IdFilterBatch {
  rows(): ColumnBatch;
  committed(): void;
  release(): void;
}

export class IdBlockFilters {
  private readonly filters = new Map<number, Uint32Array>();
  /** Blocks whose filter is stored, or is being stored by a write in flight. */
  private readonly stored = new Set<number>();

  /** Records that the line with sequence number `seq` has an id hashing (hash53) to `hash`. */
  add(seq: number, hash: number): void {
    const block = blockOf(seq);
    let bits = this.filters.get(block);
    if (bits === undefined) {
      bits = new Uint32Array(FILTER_BITS / 32);
      this.filters.set(block, bits);
    }
    const h1 = hash >>> 0;
    const h2 = (Math.imul(Math.floor(hash / 4294967296), 0x9e3779b1) | 1) >>> 0;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & BIT_MASK;
      bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  private mayHold(bits: Uint32Array, hash: number): boolean {
    const h1 = hash >>> 0;
    const h2 = (Math.imul(Math.floor(hash / 4294967296), 0x9e3779b1) | 1) >>> 0;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & BIT_MASK;
      if ((bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** Inclusive sequence-number ranges that may hold a line with this id hash, ascending and merged. */
  seqRanges(hash: number): [number, number][] {
    const blocks: number[] = [];
    for (const [block, bits] of this.filters) if (this.mayHold(bits, hash)) blocks.push(block);
    blocks.sort((a, b) => a - b);
    const ranges: [number, number][] = [];
    for (const block of blocks) {
      const first = block * ID_BLOCK_ROWS + 1;
      const last = first + ID_BLOCK_ROWS - 1;
      const prev = ranges[ranges.length - 1];
      if (prev && prev[1] + 1 === first) prev[1] = last;
      else ranges.push([first, last]);
    }
    return ranges;
  }

  /** The filters of full blocks before `nextSeq`'s block not yet stored, to store with a write. */
  batch(nextSeq: number): IdFilterBatch {
    const current = blockOf(nextSeq);
    const blocks: number[] = [];
    for (const block of this.filters.keys()) {
      if (block < current && !this.stored.has(block)) {
        blocks.push(block);
        this.stored.add(block);
      }
    }
    let done = false;
    return {
      rows: () => ({
        table: LOG_ID_FILTERS_TABLE,
        rowCount: blocks.length,
        columns: [BigInt64Array.from(blocks, BigInt), blocks.map((b) => new Uint8Array(this.filters.get(b)!.buffer))],
      }),
      committed: () => {
        done = true;
      },
      release: () => {
        if (!done) for (const b of blocks) this.stored.delete(b);
      },
    };
  }

  /**
   * Loads the stored filters and rebuilds those of blocks that have lines but no stored filter,
   * storing the rebuilt ones of full blocks (`nextSeq` is the next sequence number to assign).
   */
  async load(conn: DuckDBConnection, nextSeq: number): Promise<void> {
    const stored = await conn.runAndReadAll(`SELECT block, bits FROM ${LOG_ID_FILTERS_TABLE.name}`);
    for (const [block, bits] of stored.getRows()) {
      const bytes = (bits as DuckDBBlobValue).bytes;
      const words = new Uint32Array(FILTER_BITS / 32);
      new Uint8Array(words.buffer).set(bytes.subarray(0, words.byteLength));
      this.filters.set(Number(block), words);
      this.stored.add(Number(block));
    }
    const present = await conn.runAndReadAll(`SELECT DISTINCT ((seq - 1) // ${ID_BLOCK_ROWS})::BIGINT FROM logs`);
    const missing = present
      .getRows()
      .map((r) => Number(r[0]))
      .filter((b) => !this.stored.has(b));
    for (const block of missing) {
      this.filters.delete(block);
      const first = block * ID_BLOCK_ROWS + 1;
      const reader = await conn.runAndReadAll(
        `SELECT seq, request_hash, trace_hash FROM logs WHERE seq BETWEEN ${first} AND ${first + ID_BLOCK_ROWS - 1}`,
      );
      const [seqs = [], requests = [], traces = []] = reader.getColumns();
      for (let i = 0; i < seqs.length; i++) {
        const seq = Number(seqs[i] as bigint);
        for (const h of [requests[i], traces[i]]) if (typeof h === 'bigint' && h !== 0n) this.add(seq, Number(h));
      }
      // A block that saw no id at all still needs an (empty) filter, or it would be rebuilt every open.
      if (!this.filters.has(block)) this.filters.set(block, new Uint32Array(FILTER_BITS / 32));
    }
    const full = this.batch(nextSeq);
    const rows = full.rows();
    if (rows.rowCount === 0) return;
    const appender = await conn.createAppender(LOG_ID_FILTERS_TABLE.name);
    try {
      appendColumnBatches(appender, LOG_ID_FILTERS_TABLE, [rows]);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    full.committed();
  }

  /** Deletes the filters of blocks wholly before the first remaining line (retention). */
  async dropBefore(conn: DuckDBConnection, nextSeq: number): Promise<void> {
    const min = (await conn.runAndReadAll('SELECT min(seq) FROM logs')).getRows()[0]?.[0];
    const firstBlock = blockOf(typeof min === 'bigint' ? Number(min) : nextSeq);
    await conn.run(`DELETE FROM ${LOG_ID_FILTERS_TABLE.name} WHERE block < ${firstBlock}`);
    for (const block of [...this.filters.keys()]) {
      if (block < firstBlock) {
        this.filters.delete(block);
        this.stored.delete(block);
      }
    }
  }
}
