/**
 * Worker-thread pools for the ingest stages that move CPU work off the event loop (JSON-lines
 * decoding, Sentry event preparation). A pool runs one worker module's default export, one task at
 * a time per thread, each task on the thread with the fewest tasks waiting. Handlers answer their
 * own failures as values, so a rejected task means its thread died or the pool closed:
 * ThreadUnavailableError, which the routes answer 503 with Retry-After so that clients retry. A
 * dead thread is replaced on the next task; idle threads do not keep the process alive.
 *
 * Hand-written rather than piscina: on the Sentry ingest benchmark (30k events) piscina took
 * 1.9 ms of server CPU per event against 1.1 with this pool, and halved the events per group commit.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { TaskReply, TaskRequest } from './task-worker.js';

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

interface Waiting {
  readonly resolve: (result: never) => void;
  readonly reject: (err: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly waiting: Map<number, Waiting>;
  alive: boolean;
}

export class ThreadPool<Task, Result> {
  private readonly workers: Thread[];
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: ThreadPoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`threads must be a positive integer, got ${opts.threads}`);
    this.workers = Array.from({ length: opts.threads }, () => this.start());
  }

  /** Runs a task on the least busy thread; `transfer` lists buffers moved to it rather than copied. */
  run(task: Task, transfer: readonly ArrayBuffer[] = []): Promise<Result> {
    if (this.closed) return Promise.reject(new ThreadUnavailableError(`the ${this.opts.name} is closed`));
    const thread = this.leastBusy();
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(id, { resolve: resolve as (r: never) => void, reject });
      const request: TaskRequest = { id, task };
      thread.worker.postMessage(request, [...transfer]);
    });
  }

  /** Tasks sent and not yet answered. */
  get pending(): number {
    let n = 0;
    for (const t of this.workers) n += t.waiting.size;
    return n;
  }

  /** The running threads (tests end one to see the pool recover). */
  get threads(): readonly Worker[] {
    return this.workers.map((t) => t.worker);
  }

  /** Stops the threads; tasks still waiting fail with ThreadUnavailableError. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((t) => t.worker.terminate()));
  }

  private leastBusy(): Thread {
    let best = 0;
    for (let i = 0; i < this.workers.length; i++) {
      const t = this.workers[i]!;
      if (!t.alive) {
        const fresh = this.start();
        this.workers[i] = fresh;
        return fresh;
      }
      if (t.waiting.size < this.workers[best]!.waiting.size) best = i;
    }
    return this.workers[best]!;
  }

  private start(): Thread {
    const thread: Thread = { worker: startWorker(this.opts.worker), waiting: new Map(), alive: true };
    // Idle threads do not keep the process alive; a thread with tasks does (ref in run()).
    thread.worker.unref();
    thread.worker.on('message', (reply: TaskReply) => {
      const w = thread.waiting.get(reply.id);
      if (w === undefined) return;
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0) thread.worker.unref();
      if ('error' in reply) w.reject(new Error(`${this.opts.name}: ${reply.error}`));
      else w.resolve(reply.result as never);
    });
    thread.worker.on('error', (err) => this.opts.logger?.error({ err }, `a ${this.opts.name} thread failed`));
    thread.worker.on('exit', (code) => {
      thread.alive = false;
      const why = this.closed ? `the ${this.opts.name} is closed` : `the ${this.opts.name} thread exited (code ${code})`;
      if (!this.closed) this.opts.logger?.error({ code, tasks: thread.waiting.size }, `${why}; it is replaced on the next task`);
      for (const w of thread.waiting.values()) w.reject(new ThreadUnavailableError(why));
      thread.waiting.clear();
    });
    return thread;
  }
}

/**
 * Starts the task-worker entry for a module. From TypeScript sources (the tests) the entry and the
 * module are the `.ts` files, loaded after registering tsx in the thread.
 */
function startWorker(module: URL): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./task-worker.js', import.meta.url), { workerData: { module: module.href } });
  const entry = new URL('./task-worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData: { module: module.href.replace(/\.js$/, '.ts') } });
}
