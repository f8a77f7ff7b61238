/**
 * In-process harness for the logs pillar's tests: a real HTTP server (createHttpServer) with every
 * log ingest route and the Loki query API, backed by a signal store in a temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { AccessControl } from '../../src/api/auth.js';
import { createHttpServer } from '../../src/api/http-server.js';
import { registerLokiApi } from '../../src/api/loki/index.js';
import { registerJsonLinesRoutes } from '../../src/ingest/jsonlines/jsonlines-routes.js';
import { registerLokiPushRoutes } from '../../src/ingest/loki/loki-push-routes.js';
import { registerOtlpLogsRoutes } from '../../src/ingest/otlp/logs-routes.js';
import { createSelfMetrics, type SelfMetrics } from '../../src/selfobs/metrics.js';
import { openSignalStore, type SignalStore } from '../../src/storage/signal-store/index.js';

export interface LogsHarness {
  readonly app: FastifyInstance;
  readonly store: SignalStore;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
  readonly dir: string;
  url: string;
  listen(): Promise<string>;
  /** Lines stored so far (for "nothing changed" checks). */
  lineCount(): Promise<number>;
  /** query_range over the last `sinceSeconds` (default a day); returns Loki's `data`. */
  queryRange(query: string, extra?: Record<string, string>): Promise<{ resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] }>;
  close(): Promise<void>;
}

export async function createLogsHarness(opts: { maxQueuedRows?: number; bodyLimitBytes?: number } = {}): Promise<LogsHarness> {
  const logger = pino({ level: 'silent' });
  const metrics = createSelfMetrics('test');
  const accessControl = new AccessControl([]);
  const app = createHttpServer({ logger, metrics, accessControl: () => accessControl, bodyLimitBytes: opts.bodyLimitBytes ?? 8 * 1024 * 1024 });
  const dir = mkdtempSync(join(tmpdir(), 'wk-logs-'));
  const store = await openSignalStore({
    dir,
    logger,
    registry: metrics.registry,
    retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 },
    ...(opts.maxQueuedRows !== undefined ? { maxQueuedRows: opts.maxQueuedRows } : {}),
  });
  registerLokiPushRoutes(app, { logs: store.logs, registry: metrics.registry });
  registerJsonLinesRoutes(app, { logs: store.logs, registry: metrics.registry });
  registerOtlpLogsRoutes(app, { logs: store.logs, registry: metrics.registry });
  await registerLokiApi(app, { logs: store.logs });
  await app.ready();
  const h: LogsHarness = {
    app,
    store,
    metrics,
    logger,
    dir,
    url: '',
    async listen() {
      h.url = await app.listen({ host: '127.0.0.1', port: 0 });
      return h.url;
    },
    async lineCount() {
      return (await store.logs.stats()).lines;
    },
    async queryRange(query, extra = {}) {
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const params = new URLSearchParams({ query, start: String(nowNs - 86_400_000_000_000n), end: String(nowNs + 60_000_000_000n), limit: '1000', ...extra });
      const res = await app.inject({ method: 'GET', url: `/loki/api/v1/query_range?${params}` });
      if (res.statusCode !== 200) throw new Error(`query_range ${query} answered ${res.statusCode}: ${res.body}`);
      return res.json().data;
    },
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
