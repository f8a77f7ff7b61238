/** Loki push API ingestion (`POST /loki/api/v1/push`). */
export { registerLokiPushRoutes, type LokiPushRouteOptions } from './loki-push-routes.js';
