/**
 * A small pool of DuckDB read connections. DuckDB runs one statement per connection at a time;
 * several connections let queries (and the live-tail, label and context lookups) run side by side
 * with each other and with the writer, under DuckDB's MVCC snapshot isolation.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export class ReadPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiters: ((conn: DuckDBConnection) => void)[] = [];
  private readonly all: DuckDBConnection[] = [];

  private constructor(private readonly beforeRead: () => Promise<void>) {}

  /** `beforeRead` runs before each use, e.g. to make acknowledged writes visible. */
  static async open(instance: DuckDBInstance, size: number, beforeRead: () => Promise<void>): Promise<ReadPool> {
    const pool = new ReadPool(beforeRead);
    for (let i = 0; i < size; i++) {
      const conn = await instance.connect();
      pool.all.push(conn);
      pool.idle.push(conn);
    }
    return pool;
  }

  /** Runs `fn` with a connection held exclusively for its duration. */
  async use<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    await this.beforeRead();
    const conn = this.idle.pop() ?? (await new Promise<DuckDBConnection>((resolve) => this.waiters.push(resolve)));
    try {
      return await fn(conn);
    } finally {
      const waiter = this.waiters.shift();
      if (waiter) waiter(conn);
      else this.idle.push(conn);
    }
  }

  closeAll(): void {
    for (const conn of this.all) conn.closeSync();
    this.all.length = 0;
    this.idle.length = 0;
  }
}
