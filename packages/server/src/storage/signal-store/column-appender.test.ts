import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendColumnBatches } from './column-appender.js';
import { packedTextAt, PackedTextsWriter } from './packed-texts.js';
import { checkBatchShape, type ColumnBatch, type TableSchema } from './table-schema.js';

const TABLE: TableSchema = {
  name: 't',
  columns: [
    { name: 'b', kind: 'bigint' },
    { name: 'i', kind: 'integer' },
    { name: 'u', kind: 'utinyint' },
    { name: 'd', kind: 'double' },
    { name: 'f', kind: 'boolean' },
    { name: 's', kind: 'varchar' },
  ],
  migrations: ['CREATE TABLE t (b BIGINT, i INTEGER, u UTINYINT, d DOUBLE, f BOOLEAN, s VARCHAR)'],
  timeColumn: null,
};

describe('appendColumnBatches', () => {
  let instance: DuckDBInstance;
  let conn: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    conn = await instance.connect();
    await conn.run(TABLE.migrations[0]!);
  });
  afterAll(() => {
    conn.closeSync();
    instance.closeSync();
  });

  async function write(batches: ColumnBatch[]): Promise<unknown[][]> {
    await conn.run('DELETE FROM t');
    for (const b of batches) checkBatchShape(b);
    const appender = await conn.createAppender('t');
    appendColumnBatches(appender, TABLE, batches);
    appender.flushSync();
    appender.closeSync();
    return (await conn.runAndReadAll('SELECT * FROM t')).getRows();
  }

  it('writes plain arrays with NULLs in every kind, across several data chunks', async () => {
    const n = 5000;
    const idx = Array.from({ length: n }, (_, i) => i);
    const nullEvery = (k: number, f: (i: number) => unknown) => idx.map((i) => (i % k === 0 ? null : f(i)));
    const rows = await write([
      {
        table: TABLE,
        rowCount: n,
        columns: [
          nullEvery(3, (i) => BigInt(i) * 1_000_000_007n - 9_000_000_000_000_000_000n),
          nullEvery(5, (i) => -i),
          nullEvery(7, (i) => i % 256),
          nullEvery(11, (i) => i / 4),
          nullEvery(13, (i) => i % 2 === 0),
          nullEvery(17, (i) => (i % 2 === 0 ? `line ${i} ✓` : `a longer text than twelve bytes, number ${i}`)),
        ],
      },
    ]);
    expect(rows).toHaveLength(n);
    for (const i of [0, 1, 2047, 2048, 2049, 4095, 4096, 4999]) {
      expect(rows[i]).toEqual([
        i % 3 === 0 ? null : BigInt(i) * 1_000_000_007n - 9_000_000_000_000_000_000n,
        i % 5 === 0 ? null : -i,
        i % 7 === 0 ? null : i % 256,
        i % 11 === 0 ? null : i / 4,
        i % 13 === 0 ? null : i % 2 === 0,
        i % 17 === 0 ? null : i % 2 === 0 ? `line ${i} ✓` : `a longer text than twelve bytes, number ${i}`,
      ]);
    }
  });

  it('copies typed-array columns in bulk, several batches in order', async () => {
    const batch = (from: number, n: number): ColumnBatch => ({
      table: TABLE,
      rowCount: n,
      columns: [
        BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i) << 40n),
        Int32Array.from({ length: n }, (_, i) => from + i),
        Uint8Array.from({ length: n }, (_, i) => (from + i) % 200),
        Float64Array.from({ length: n }, (_, i) => (from + i) * 0.5),
        Uint8Array.from({ length: n }, (_, i) => (from + i) % 2),
        Array.from({ length: n }, (_, i) => String(from + i)),
      ],
    });
    const rows = await write([batch(0, 3000), batch(3000, 10)]);
    expect(rows).toHaveLength(3010);
    expect(rows[2999]).toEqual([2999n << 40n, 2999, 2999 % 200, 1499.5, true, '2999']);
    expect(rows[3009]).toEqual([3009n << 40n, 3009, 3009 % 200, 1504.5, true, '3009']);
  });

  it('writes packed texts: inline (up to 12 bytes), long, empty, non-ASCII and NULL, across data chunks', async () => {
    const n = 4500;
    const text = (i: number): string | null => {
      if (i % 9 === 0) return null;
      if (i % 9 === 1) return '';
      if (i % 9 === 2) return 'x'.repeat(i % 14);
      if (i % 9 === 3) return `é✓${i % 1000}`;
      if (i % 9 === 4) return `${'y'.repeat(11)}${i % 10}`;
      if (i % 9 === 5) return `${'z'.repeat(12)}${i % 10}`;
      return `a longer text than twelve bytes ✓ ${i}`;
    };
    // A small initial buffer, so that the writer grows it several times.
    const writer = new PackedTextsWriter(n, 16);
    for (let i = 0; i < n; i++) writer.push(text(i));
    const packed = writer.finish();
    const zeros = { b: new BigInt64Array(n), i: new Int32Array(n), u: new Uint8Array(n), d: new Float64Array(n), f: new Uint8Array(n) };
    const rows = await write([{ table: TABLE, rowCount: n, columns: [zeros.b, zeros.i, zeros.u, zeros.d, zeros.f, packed] }]);
    expect(rows).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      expect(rows[i]![5], `row ${i}`).toBe(text(i));
      expect(packedTextAt(packed, i)).toBe(text(i));
    }
    const counted = await conn.runAndReadAll("SELECT count(*) FROM t WHERE s = 'yyyyyyyyyyy3' OR s LIKE 'é✓%'");
    expect(Number(counted.getRows()[0]![0])).toBe(Array.from({ length: n }, (_, i) => text(i)).filter((t) => t === 'yyyyyyyyyyy3' || t?.startsWith('é✓')).length);
  });

  it('shares data chunks between small batches of every column form, NULLs and chunk boundaries included', async () => {
    // Batches of 1 to 37 rows alternate plain arrays (NULL every fourth row), typed arrays (never
    // NULL) and packed texts, so chunks of 2,048 rows are filled from many batches and split them.
    const isNull = (r: number, plain: boolean): boolean => plain && r % 4 === 1;
    const expected = (r: number, plain: boolean): unknown[] => {
      const text = r % 4 === 1 ? null : r % 2 === 0 ? `s${r}` : `a text longer than twelve bytes ${r}`;
      if (isNull(r, plain)) return [null, null, null, null, null, text];
      return [BigInt(r) * 3n, r, r % 256, r / 8, r % 3 === 0, text];
    };
    const plainRows = new Set<number>();
    const batches: ColumnBatch[] = [];
    for (let row = 0, b = 0; row < 5000; b++) {
      const n = Math.min(1 + ((b * 7) % 37), 5000 - row);
      const rows = Array.from({ length: n }, (_, i) => row + i);
      if (b % 3 === 0) {
        for (const r of rows) plainRows.add(r);
        const values = rows.map((r) => expected(r, true));
        batches.push({ table: TABLE, rowCount: n, columns: [0, 1, 2, 3, 4, 5].map((c) => values.map((v) => v[c])) });
      } else {
        const texts = new PackedTextsWriter(n, 8);
        for (const r of rows) texts.push(expected(r, false)[5] as string | null);
        batches.push({
          table: TABLE,
          rowCount: n,
          columns: [
            BigInt64Array.from(rows, (r) => BigInt(r) * 3n),
            Int32Array.from(rows, (r) => r),
            Uint8Array.from(rows, (r) => r % 256),
            Float64Array.from(rows, (r) => r / 8),
            Uint8Array.from(rows, (r) => (r % 3 === 0 ? 1 : 0)),
            b % 3 === 1 ? texts.finish() : rows.map((r) => expected(r, false)[5]),
          ],
        });
      }
      row += n;
    }
    expect(batches.length).toBeGreaterThan(200);
    const stored = await write(batches);
    expect(stored).toHaveLength(5000);
    stored.forEach((values, r) => expect(values, `row ${r}`).toEqual(expected(r, plainRows.has(r))));
  });

  it('refuses a typed array of the wrong kind', () => {
    const bad: ColumnBatch = { table: TABLE, rowCount: 1, columns: [new Int32Array(1), [1], [1], [1], [true], ['x']] };
    expect(() => checkBatchShape(bad)).toThrow(/column b \(bigint\) cannot take a Int32Array/);
  });
});
