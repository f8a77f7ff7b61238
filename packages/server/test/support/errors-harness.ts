/**
 * In-process harness for the errors tests: a real HTTP server (createHttpServer) with the Sentry
 * ingest routes and the issues API, backed by a real signal store in a temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { AccessControl } from '../../src/api/auth.js';
import { registerErrorsApi } from '../../src/api/errors/issues-api.js';
import { createHttpServer } from '../../src/api/http-server.js';
import type { ProjectConfig } from '../../src/config/schema.js';
import { ErrorIngestor, type IssueEventKind } from '../../src/errors/error-ingestor.js';
import type { EventPreparer } from '../../src/errors/prepare-pool.js';
import { ProjectRegistry } from '../../src/errors/projects.js';
import { ProjectRateLimiter } from '../../src/errors/rate-limiter.js';
import { registerSentryIngestRoutes } from '../../src/ingest/sentry/sentry-routes.js';
import type { Issue } from '../../src/model/error-issue.js';
import { createSelfMetrics, type SelfMetrics } from '../../src/selfobs/metrics.js';
import { DuckDBErrorStore } from '../../src/storage/signal-store/errors/duckdb-error-store.js';
import { decodePayload } from '../../src/storage/signal-store/errors/errors-payload.js';
import { DuckDBTraceStore } from '../../src/storage/signal-store/traces/duckdb-trace-store.js';
import { openSignalStore, type SignalStore } from '../../src/storage/signal-store/signal-store.js';

export interface ErrorsHarness {
  readonly app: FastifyInstance;
  readonly signals: SignalStore;
  readonly store: DuckDBErrorStore;
  readonly metrics: SelfMetrics;
  readonly ingestor: ErrorIngestor;
  /** Where `transaction` and `span` items go. */
  readonly traces: DuckDBTraceStore;
  /** The current projects. */
  projects(): ProjectRegistry;
  /** New-issue and regression notifications, in order. */
  readonly issueEvents: { kind: IssueEventKind; issue: Issue }[];
  /** Replaces the projects, as a configuration reload does. */
  setProjects(projects: ProjectConfig[]): void;
  /** Rows in a table (to check that nothing was stored). */
  count(table: string): Promise<number>;
  /** Every stored event payload, decoded to JSON text (to check scrubbing end to end). */
  rawPayloads(): Promise<string[]>;
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function project(id: number, name: string, keys: string[], extra: Partial<ProjectConfig> = {}): ProjectConfig {
  return { id, name, keys, rate_limit_per_minute: 0, scrub_fields: [], services: [], ...extra };
}

export async function createErrorsHarness(
  projects: ProjectConfig[],
  opts: { bodyLimitBytes?: number; maxDecodedBytes?: number; accessControl?: AccessControl; preparer?: EventPreparer } = {},
): Promise<ErrorsHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'wk-errors-'));
  const logger = pino({ level: 'silent' });
  const metrics = createSelfMetrics('test');
  const signals = await openSignalStore({ dir, logger, registry: metrics.registry, retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
  const store = await DuckDBErrorStore.open(signals, { retentionMs: 0 });
  const traces = await DuckDBTraceStore.open(signals, { retentionMs: 0 });
  const issueEvents: { kind: IssueEventKind; issue: Issue }[] = [];
  const ingestor = new ErrorIngestor({
    store,
    registry: metrics.registry,
    logger,
    appendSpans: (s) => traces.append(s),
  });
  ingestor.onIssueEvent((kind, issue) => issueEvents.push({ kind, issue }));
  let registry = new ProjectRegistry(projects);
  const accessControl = opts.accessControl ?? new AccessControl([]);
  const app = createHttpServer({ logger, metrics, accessControl: () => accessControl, bodyLimitBytes: opts.bodyLimitBytes ?? 8 * 1024 * 1024 });
  registerSentryIngestRoutes(app, {
    ingestor,
    projects: () => registry,
    rateLimiter: new ProjectRateLimiter(),
    maxDecodedBytes: opts.maxDecodedBytes ?? 16 * 1024 * 1024,
    preparer: opts.preparer,
  });
  const harness: ErrorsHarness = {
    app,
    signals,
    store,
    metrics,
    ingestor,
    traces,
    projects: () => registry,
    issueEvents,
    url: '',
    setProjects(p) {
      registry = new ProjectRegistry(p);
    },
    async count(table) {
      const r = await signals.reads.use((c) => c.runAndReadAll(`SELECT count(*) FROM ${table}`));
      return Number(r.getRows()[0]![0]);
    },
    async rawPayloads() {
      const r = await signals.reads.use((c) => c.runAndReadAll('SELECT payload FROM error_events'));
      return r.getRows().map((row) => JSON.stringify(decodePayload(row[0] as string)));
    },
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const addr = app.server.address();
      harness.url = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}` : '';
      return harness.url;
    },
    async close() {
      await app.close();
      await signals.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  registerErrorsApi(app, { store, projects: () => registry, externalUrl: () => harness.url || 'http://127.0.0.1:9700' });
  return harness;
}
