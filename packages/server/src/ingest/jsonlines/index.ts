/** Newline-delimited JSON log ingestion (`POST /api/v1/logs`). */
export { registerJsonLinesRoutes, type JsonLinesRouteOptions } from './jsonlines-routes.js';
