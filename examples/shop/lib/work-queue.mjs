/**
 * A background worker with a bounded in-memory queue: `concurrency` jobs run at once, failed jobs
 * are retried with a growing delay up to `maxAttempts`, and the depth (waiting plus delayed jobs)
 * is reported through `onDepth` so it can be exported as `worker_queue_depth{queue}`.
 */

/** Thrown by push() when the queue is full: the caller decides (the shop answers 503). */
export class QueueFullError extends Error {
  constructor(queue, capacity) {
    super(`queue "${queue}" is full (${capacity} jobs waiting)`);
    this.name = 'QueueFullError';
  }
}

export class WorkQueue {
  /**
   * @param {{ name: string, handler: (job: any, attempt: number) => Promise<void>, concurrency?: number,
   *   capacity?: number, maxAttempts?: number, retryDelayMs?: number, onDepth?: (depth: number) => void,
   *   onGiveUp?: (job: any, err: unknown) => void }} opts
   */
  constructor(opts) {
    this.name = opts.name;
    this.handler = opts.handler;
    this.concurrency = opts.concurrency ?? 2;
    this.capacity = opts.capacity ?? 10_000;
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.onDepth = opts.onDepth ?? (() => {});
    this.onGiveUp = opts.onGiveUp ?? (() => {});
    /** @type {{ job: any, attempt: number }[]} */
    this.waiting = [];
    this.delayed = new Set();
    this.running = 0;
    this.stopped = false;
  }

  /** Jobs not yet finished: waiting, waiting for a retry, or running. */
  get depth() {
    return this.waiting.length + this.delayed.size + this.running;
  }

  /** Enqueues a job; throws QueueFullError at capacity. */
  push(job) {
    if (this.depth >= this.capacity) throw new QueueFullError(this.name, this.capacity);
    this.waiting.push({ job, attempt: 1 });
    this.changed();
  }

  /** Stops taking jobs off the queue; resolves once the running ones finished (at most `timeoutMs`). */
  async stop(timeoutMs = 2000) {
    this.stopped = true;
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    const deadline = Date.now() + timeoutMs;
    while (this.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  changed() {
    this.onDepth(this.depth);
    while (!this.stopped && this.running < this.concurrency && this.waiting.length > 0) this.run(this.waiting.shift());
  }

  run(entry) {
    this.running++;
    this.handler(entry.job, entry.attempt).then(
      () => this.finish(),
      (err) => {
        this.running--;
        if (this.stopped) return;
        if (entry.attempt >= this.maxAttempts) {
          this.onGiveUp(entry.job, err);
          this.changed();
          return;
        }
        const timer = setTimeout(() => {
          this.delayed.delete(timer);
          this.waiting.push({ job: entry.job, attempt: entry.attempt + 1 });
          this.changed();
        }, this.retryDelayMs * entry.attempt);
        this.delayed.add(timer);
        this.changed();
      },
    );
  }

  finish() {
    this.running--;
    this.changed();
  }
}
