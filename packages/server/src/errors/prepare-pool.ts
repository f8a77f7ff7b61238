/**
 * Where Sentry request bodies are prepared (event-preparation.ts): on worker threads
 * (threads/thread-pool.ts), so that decompressing, parsing, scrubbing, normalising, grouping and
 * serialising events use the other cores while the event loop serves HTTP and the store's commits.
 * A job's body is copied once and transferred, and the answer is a few strings per event. A thread
 * that dies fails only the job it held (ThreadUnavailableError, answered 503 so SDKs retry) and is
 * replaced. Nothing is acknowledged before it is prepared and committed on the main thread, so a
 * lost thread never loses acknowledged data.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ThreadPool } from '../threads/thread-pool.js';
import { prepareBody, ScrubberCache, type PrepareJob, type Preparation } from './event-preparation.js';

/** Prepares request bodies; closed with the server. */
export interface EventPreparer {
  prepare(job: PrepareJob): Promise<Preparation>;
  close(): Promise<void>;
}

/** Prepares on the calling thread. */
export class InlinePreparer implements EventPreparer {
  private readonly scrubbers = new ScrubberCache();

  prepare(job: PrepareJob): Promise<Preparation> {
    return prepareBody(job, this.scrubbers);
  }

  async close(): Promise<void> {}
}

export interface PreparePoolOptions {
  readonly threads: number;
  readonly logger?: Pick<Logger, 'error'>;
  /** The thread's module (tests put a stand-in there); by default prepare-worker. */
  readonly worker?: URL;
}

/** Preparation threads beside the event loop: one per core beyond the first, at least one, at most four. */
export function defaultPrepareThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** A prepare-threads setting → the preparer: `0` prepares on the event loop. */
export function createEventPreparer(threads: number, logger: Pick<Logger, 'error'>): EventPreparer {
  return threads > 0 ? new PreparePool({ threads, logger }) : new InlinePreparer();
}

export class PreparePool implements EventPreparer {
  private readonly pool: ThreadPool<PrepareJob, Preparation>;

  constructor(opts: PreparePoolOptions) {
    this.pool = new ThreadPool({
      name: 'event preparation pool',
      threads: opts.threads,
      worker: opts.worker ?? new URL('./prepare-worker.js', import.meta.url),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  /** Jobs sent and not yet answered. */
  get pending(): number {
    return this.pool.pending;
  }

  prepare(job: PrepareJob): Promise<Preparation> {
    // A copy of exactly the body's bytes, transferred: the request's Buffer may be a view into a
    // larger shared pool that must not be cloned or detached.
    const body = new Uint8Array(job.body);
    return this.pool.run({ ...job, body }, [body.buffer]);
  }

  /** Stops the threads; jobs still waiting fail with ThreadUnavailableError. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
