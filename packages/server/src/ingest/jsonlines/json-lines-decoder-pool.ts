/**
 * Decodes JSON-lines bodies on worker threads (threads/thread-pool.ts), so that the event loop,
 * which appends the decoded columns to the store, is not the bottleneck of JSON-lines ingest:
 * parsing and recognising a line costs several times what appending it does. A request whose
 * thread dies, or that comes after close, fails with ThreadUnavailableError (the route's 503).
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ThreadPool } from '../../threads/thread-pool.js';
import type { DecodedJsonLines } from './json-lines-decoder.js';
import type { JsonLineDefaults } from './json-line-record.js';

/** A body to decode, as a decoder thread receives it. */
export interface DecodeRequest {
  readonly body: Uint8Array;
  readonly defaults: JsonLineDefaults;
  readonly observedNs: bigint;
}

/** A decoder thread's answer: the decoded body, or why decoding failed. */
export type DecodeReply = { readonly result: DecodedJsonLines } | { readonly error: string };

export interface JsonLinesDecoderPoolOptions {
  /** Worker threads; default: the machine's cores less one, between 1 and 4. */
  readonly threads?: number;
  readonly logger?: Pick<Logger, 'error'>;
}

export class JsonLinesDecoderPool {
  private readonly pool: ThreadPool<DecodeRequest, DecodeReply>;

  constructor(opts: JsonLinesDecoderPoolOptions = {}) {
    const threads = opts.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
    this.pool = new ThreadPool({
      name: 'JSON-lines decoder',
      threads,
      worker: new URL('./json-lines-worker.js', import.meta.url),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }

  /** Decodes a body (UTF-8 JSON lines). Rejects with ThreadUnavailableError if its thread dies or the pool is closed. */
  async decode(body: Uint8Array, defaults: JsonLineDefaults, observedNs: bigint): Promise<DecodedJsonLines> {
    const request: DecodeRequest = { body, defaults: { service: defaults.service, environment: defaults.environment, version: defaults.version }, observedNs };
    const reply = await this.pool.run(request);
    if ('error' in reply) throw new Error(`json lines: decoding failed: ${reply.error}`);
    return reply.result;
  }

  /** The decoder threads (tests end one to see the pool recover). */
  get threads(): ThreadPool<DecodeRequest, DecodeReply>['threads'] {
    return this.pool.threads;
  }

  /** Stops the threads; pending requests fail with ThreadUnavailableError. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
