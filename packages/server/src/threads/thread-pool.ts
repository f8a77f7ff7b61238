/**
 * Worker-thread pools for the ingest stages that move CPU work off the event loop (JSON-lines
 * decoding, Sentry event preparation), on piscina. Handlers answer their own failures as values,
 * so a rejected task means its thread died or the pool closed: ThreadUnavailableError, which the
 * routes answer 503 with Retry-After so that clients retry. piscina starts a new thread in place
 * of one that died, and idle threads do not keep the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';

/** The task's thread died or the pool is closed: nothing was done, and the request may be retried. */
export class ThreadUnavailableError extends Error {
  override readonly name = 'ThreadUnavailableError';
}

export interface ThreadPoolOptions {
  /** Names the pool in errors, e.g. `JSON-lines decoder`. */
  readonly name: string;
  readonly threads: number;
  /** The worker module (the compiled `.js` beside the caller); its default export handles one task. */
  readonly worker: URL;
  /** Where a thread's death is reported. */
  readonly logger?: Pick<Logger, 'error'>;
}

export class ThreadPool<Task, Result> {
  private readonly piscina: Piscina<Task, Result>;
  private closed = false;
  private running = 0;

  constructor(private readonly opts: ThreadPoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`threads must be a positive integer, got ${opts.threads}`);
    this.piscina = new Piscina<Task, Result>({
      ...workerFile(opts.worker),
      minThreads: opts.threads,
      maxThreads: opts.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Handlers are asynchronous in part; a thread blocked in Atomics.wait between tasks would stall them.
      atomics: 'disabled',
    });
    // A dying thread also rejects its task; the pool's own error event must not crash the process.
    this.piscina.on('error', () => undefined);
  }

  /** Runs a task on the least busy thread; `transfer` lists buffers moved to it rather than copied. */
  async run(task: Task, transfer: readonly ArrayBuffer[] = []): Promise<Result> {
    if (this.closed) throw new ThreadUnavailableError(`the ${this.opts.name} is closed`);
    this.running++;
    try {
      return await this.piscina.run(task, { transferList: [...transfer] });
    } catch (err) {
      if (this.closed) throw new ThreadUnavailableError(`the ${this.opts.name} is closed`);
      this.opts.logger?.error({ err }, `a ${this.opts.name} thread failed; it is replaced`);
      throw new ThreadUnavailableError(`the ${this.opts.name} thread failed (${err instanceof Error ? err.message : String(err)})`);
    } finally {
      this.running--;
    }
  }

  /** Tasks sent and not yet answered. */
  get pending(): number {
    return this.running;
  }

  /** The running threads (tests end one to see the pool recover). */
  get threads(): readonly Worker[] {
    return this.piscina.threads;
  }

  /** Stops the threads; tasks still waiting fail with ThreadUnavailableError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.destroy();
  }
}

/** From TypeScript sources (the tests) the worker's `.ts` twin is loaded through tsx by a small shim. */
function workerFile(worker: URL): { filename: string; workerData?: unknown } {
  if (!import.meta.url.endsWith('.ts')) return { filename: worker.href };
  return { filename: new URL('./tsx-worker.mjs', import.meta.url).href, workerData: { module: worker.href.replace(/\.js$/, '.ts') } };
}
