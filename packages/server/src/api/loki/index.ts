/** The Loki-compatible query API, live tail, and Watchkeeper's own log endpoints. */
import type { FastifyInstance } from 'fastify';
import type { LogQLLimits } from '../../logql/evaluator.js';
import type { LogStore } from '../../storage/log-store.js';
import { registerLokiQueryRoutes } from './loki-query-routes.js';
import { registerLokiTail } from './loki-tail.js';

export interface LokiApiDeps {
  readonly logs: LogStore;
  readonly limits?: LogQLLimits;
  /** Clock, Unix ms. */
  readonly now?: () => number;
}

/**
 * Registers `/loki/api/v1/{query,query_range,labels,label/:name/values,series,index/stats,index/volume,index/volume_range,tail}`
 * and `/api/v1/logs` (GET), `/api/v1/logs/histogram`, `/api/v1/logs/context`, all scope `read`.
 * Registers @fastify/websocket on `app` unless it is already there.
 */
export async function registerLokiApi(app: FastifyInstance, deps: LokiApiDeps): Promise<void> {
  registerLokiQueryRoutes(app, { logs: deps.logs, ...(deps.limits ? { limits: deps.limits } : {}), ...(deps.now ? { now: deps.now } : {}) });
  await registerLokiTail(app, { logs: deps.logs, ...(deps.now ? { now: deps.now } : {}) });
}
