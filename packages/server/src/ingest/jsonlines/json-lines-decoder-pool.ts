/**
 * Decodes JSON-lines bodies in worker threads, so that the event loop, which appends the decoded
 * columns to the store, is not the bottleneck of JSON-lines ingest: parsing and recognising a
 * line costs several times what appending it does. A request goes to the thread with the fewest
 * bodies pending; a thread that dies fails only its pending requests and is replaced.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DecodedJsonLines } from './json-lines-decoder.js';
import type { JsonLineDefaults } from './json-line-record.js';

/** A body to decode, sent to a worker. */
export interface DecodeRequest {
  readonly id: number;
  readonly body: Uint8Array;
  readonly defaults: JsonLineDefaults;
  readonly observedNs: bigint;
}

/** A worker's answer: the decoded body, or why decoding failed. */
export type DecodeReply = { readonly id: number; readonly result: DecodedJsonLines } | { readonly id: number; readonly error: string };

/** A decoding thread failed or the pool is closed; the request may be retried. */
export class DecoderUnavailableError extends Error {
  override readonly name = 'DecoderUnavailableError';
}

interface Job {
  readonly resolve: (r: DecodedJsonLines) => void;
  readonly reject: (err: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
}

export interface JsonLinesDecoderPoolOptions {
  /** Worker threads; default: the machine's cores less one, between 1 and 4. */
  readonly threads?: number;
}

// Run from TypeScript sources (tests), the worker is the .ts file, loaded through tsx's loader.
const SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(SOURCE ? './json-lines-worker.ts' : './json-lines-worker.js', import.meta.url);

function startWorker(): Worker {
  if (!SOURCE) return new Worker(WORKER_URL);
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(code, { eval: true });
}

export class JsonLinesDecoderPool {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: JsonLinesDecoderPoolOptions = {}) {
    const count = opts.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    for (let i = 0; i < count; i++) this.threads.push(this.spawn());
  }

  /** Decodes a body (UTF-8 JSON lines). Rejects with DecoderUnavailableError if its thread dies or the pool closes. */
  decode(body: Uint8Array, defaults: JsonLineDefaults, observedNs: bigint): Promise<DecodedJsonLines> {
    if (this.closed) return Promise.reject(new DecoderUnavailableError('the JSON-lines decoder is closed'));
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.jobs.size < thread.jobs.size) thread = t;
    const id = this.nextId++;
    const request: DecodeRequest = { id, body, defaults: { service: defaults.service, environment: defaults.environment, version: defaults.version }, observedNs };
    return new Promise<DecodedJsonLines>((resolve, reject) => {
      if (thread.jobs.size === 0) thread.worker.ref();
      thread.jobs.set(id, { resolve, reject });
      thread.worker.postMessage(request);
    });
  }

  /** Stops the threads; pending requests fail with DecoderUnavailableError. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    for (const t of threads) this.fail(t, 'the JSON-lines decoder is closed');
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private spawn(): Thread {
    const worker = startWorker();
    const thread: Thread = { worker, jobs: new Map() };
    worker.on('message', (reply: DecodeReply) => {
      const job = thread.jobs.get(reply.id);
      if (job === undefined) return;
      thread.jobs.delete(reply.id);
      if (thread.jobs.size === 0) worker.unref();
      if ('result' in reply) job.resolve(reply.result);
      else job.reject(new Error(`json lines: decoding failed: ${reply.error}`));
    });
    worker.on('error', (err) => this.replace(thread, `a JSON-lines decoder thread failed: ${err.message}`));
    worker.on('exit', (code) => this.replace(thread, `a JSON-lines decoder thread exited (code ${code})`));
    // Only a thread with requests pending keeps the process alive.
    worker.unref();
    return thread;
  }

  /** Fails a dead thread's requests and starts another in its place (unless closing). */
  private replace(thread: Thread, why: string): void {
    const at = this.threads.indexOf(thread);
    if (at === -1) return;
    this.fail(thread, why);
    if (this.closed) return;
    void thread.worker.terminate();
    this.threads[at] = this.spawn();
  }

  private fail(thread: Thread, why: string): void {
    for (const job of thread.jobs.values()) job.reject(new DecoderUnavailableError(why));
    thread.jobs.clear();
  }
}
