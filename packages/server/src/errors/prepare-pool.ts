/**
 * Where Sentry request bodies are prepared (event-preparation.ts): on worker threads, so that
 * decompressing, parsing, scrubbing, normalising, grouping and serialising events use the other
 * cores while the event loop serves HTTP and the store's commits. A job goes to the thread with the
 * fewest jobs waiting; its body is copied once and transferred, and the answer is a few strings per
 * event. A thread that dies fails only the jobs it held (PrepareThreadError, answered 503 so SDKs
 * retry) and is replaced on the next job. Nothing is acknowledged before it is prepared and
 * committed on the main thread, so a lost thread never loses acknowledged data.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { prepareBody, ScrubberCache, type PrepareJob, type Preparation } from './event-preparation.js';
import type { PrepareRequest } from './prepare-worker.js';

/** Prepares request bodies; closed with the server. */
export interface EventPreparer {
  prepare(job: PrepareJob): Promise<Preparation>;
  close(): Promise<void>;
}

/** A preparation thread died or the pool is closed: the request may be retried. */
export class PrepareThreadError extends Error {
  override readonly name = 'PrepareThreadError';
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
  readonly logger: PoolLogger;
  /** Starts one thread; by default prepare-worker in the form this module runs in (compiled, or TypeScript source under tsx). */
  readonly createWorker?: () => Worker;
}

/** What the pool logs with (a pino or Fastify logger). */
export type PoolLogger = Pick<Logger, 'warn' | 'error'>;

type Answer = { readonly id: number; readonly result: Preparation } | { readonly id: number; readonly error: string };

interface Waiting {
  readonly resolve: (p: Preparation) => void;
  readonly reject: (err: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly waiting: Map<number, Waiting>;
  alive: boolean;
}

/** Starts prepare-worker; from TypeScript sources (tests) it registers tsx in the thread first. */
function startPrepareWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./prepare-worker.js', import.meta.url));
  const source = new URL('./prepare-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`, { eval: true });
}

/** Preparation threads beside the event loop: one per core beyond the first, at least one, at most four. */
export function defaultPrepareThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** A prepare-threads setting → the preparer: `0` prepares on the event loop. */
export function createEventPreparer(threads: number, logger: PoolLogger): EventPreparer {
  return threads > 0 ? new PreparePool({ threads, logger }) : new InlinePreparer();
}

export class PreparePool implements EventPreparer {
  private readonly threads: (Thread | null)[];
  private readonly createWorker: () => Worker;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: PreparePoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`threads must be a positive integer, got ${opts.threads}`);
    this.createWorker = opts.createWorker ?? startPrepareWorker;
    this.threads = Array.from({ length: opts.threads }, () => this.start());
  }

  /** Jobs sent and not yet answered. */
  get pending(): number {
    let n = 0;
    for (const t of this.threads) n += t?.waiting.size ?? 0;
    return n;
  }

  prepare(job: PrepareJob): Promise<Preparation> {
    if (this.closed) return Promise.reject(new PrepareThreadError('the server is shutting down'));
    const thread = this.leastBusy();
    const id = this.nextId++;
    // A copy of exactly the body's bytes, transferred: the request's Buffer may be a view into a
    // larger shared pool that must not be cloned or detached.
    const body = new Uint8Array(job.body);
    return new Promise<Preparation>((resolve, reject) => {
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(id, { resolve, reject });
      const request: PrepareRequest = { id, job: { ...job, body } };
      thread.worker.postMessage(request, [body.buffer]);
    });
  }

  /** Stops the threads; jobs still waiting fail with PrepareThreadError. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  private leastBusy(): Thread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      // A dead thread is replaced by a fresh one, which nothing waits on.
      if (t === null || t === undefined || !t.alive) {
        const fresh = this.start();
        this.threads[i] = fresh;
        return fresh;
      }
      if (best < 0 || t.waiting.size < this.threads[best]!.waiting.size) best = i;
    }
    return this.threads[best]!;
  }

  private start(): Thread {
    const thread: Thread = { worker: this.createWorker(), waiting: new Map(), alive: true };
    // Idle threads do not keep the process alive; a thread with jobs does (ref in prepare()).
    thread.worker.unref();
    thread.worker.on('message', (answer: Answer) => {
      const w = thread.waiting.get(answer.id);
      if (w === undefined) return;
      thread.waiting.delete(answer.id);
      if (thread.waiting.size === 0) thread.worker.unref();
      if ('error' in answer) w.reject(new Error(`event preparation failed: ${answer.error}`));
      else w.resolve(answer.result);
    });
    thread.worker.on('error', (err) => this.opts.logger.error({ err }, 'event preparation thread failed'));
    thread.worker.on('exit', (code) => {
      thread.alive = false;
      if (!this.closed) this.opts.logger.warn({ code, jobs: thread.waiting.size }, 'event preparation thread exited; it is replaced on the next request');
      const reason = this.closed ? 'the server is shutting down' : `the event preparation thread exited (code ${code}); retry the request`;
      for (const w of thread.waiting.values()) w.reject(new PrepareThreadError(reason));
      thread.waiting.clear();
    });
    return thread;
  }
}
