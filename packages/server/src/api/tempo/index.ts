/** The Tempo-compatible trace query API (and Watchkeeper's /api/tracing additions). */
export { registerTempoApi, type TempoApiDeps } from './tempo-api.js';
export { parseTraceQL, TraceQLError } from './traceql.js';
export { resourceSpansJson, tracesDataProto } from './otlp-trace-encoders.js';
