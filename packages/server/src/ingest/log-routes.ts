/** Registers the log ingestion routes that live on the main listener only: Loki push and JSON lines. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { LogStore } from '../storage/log-store.js';
import { registerJsonLinesRoutes } from './jsonlines/jsonlines-routes.js';
import { registerLokiPushRoutes } from './loki/loki-push-routes.js';

export interface LogIngestDeps {
  readonly logs: LogStore;
  /** Registry for the watchkeeper_ingest_log_* metrics. */
  readonly registry: Registry;
  /** Largest decompressed body; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Clock for observed timestamps, Unix ms. */
  readonly now?: () => number;
}

/** `POST /loki/api/v1/push` and `POST /api/v1/logs`, both scope `ingest`. (OTLP `/v1/logs`: registerOtlpLogsRoutes.) */
export function registerLogIngestRoutes(app: FastifyInstance, deps: LogIngestDeps): void {
  registerLokiPushRoutes(app, deps);
  registerJsonLinesRoutes(app, deps);
}
