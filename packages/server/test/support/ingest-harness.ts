/**
 * In-process harness for the push receivers' tests: a real HTTP server (createHttpServer) with the
 * receivers' routes, backed by MemoryStorage, plus a dump of everything stored.
 */
import type { FastifyInstance } from 'fastify';
import { AccessControl } from '../../src/api/auth.js';
import { createHttpServer } from '../../src/api/http-server.js';
import { formatLabels } from '../../src/model/labels.js';
import { createLogger, type Logger } from '../../src/selfobs/logger.js';
import { createSelfMetrics, type SelfMetrics } from '../../src/selfobs/metrics.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';

export interface IngestHarness {
  readonly app: FastifyInstance;
  readonly storage: MemoryStorage;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
  /** Base URL once `listen()` resolved. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function createIngestHarness(opts: { accessControl?: AccessControl; bodyLimitBytes?: number } = {}): IngestHarness {
  const logger = createLogger('silent');
  const metrics = createSelfMetrics('test');
  const accessControl = opts.accessControl ?? new AccessControl([]);
  const app = createHttpServer({ logger, metrics, accessControl: () => accessControl, bodyLimitBytes: opts.bodyLimitBytes ?? 8 * 1024 * 1024 });
  const storage = new MemoryStorage();
  const harness: IngestHarness = {
    app,
    storage,
    metrics,
    logger,
    url: '',
    async listen() {
      harness.url = await app.listen({ host: '127.0.0.1', port: 0 });
      return harness.url;
    },
    async close() {
      await app.close();
      await storage.close();
    },
  };
  return harness;
}

/** Every stored series with its samples, one line each, sorted: for before/after comparisons. */
export async function dumpStorage(storage: MemoryStorage): Promise<string[]> {
  const q = storage.querier(-8.64e15, 8.64e15);
  const series = await q.select([{ type: '=~', name: '__name__', value: '.+' }], { start: -8.64e15, end: 8.64e15 });
  return series.map((s) => {
    const samples = Array.from(s.timestamps, (t, i) => `${t}=${Object.is(s.values[i], -0) ? '-0' : String(s.values[i])}`);
    return `${formatLabels(s.labels)} ${samples.join(' ')}`;
  });
}

/** Samples of one series given as `name{a="b"}` text (labels in formatLabels form), or undefined. */
export async function seriesSamples(storage: MemoryStorage, series: string): Promise<[number, number][] | undefined> {
  const q = storage.querier(-8.64e15, 8.64e15);
  const all = await q.select([{ type: '=~', name: '__name__', value: '.+' }], { start: -8.64e15, end: 8.64e15 });
  const found = all.find((s) => formatLabels(s.labels) === series);
  return found ? Array.from(found.timestamps, (t, i) => [t, found.values[i]!] as [number, number]) : undefined;
}
