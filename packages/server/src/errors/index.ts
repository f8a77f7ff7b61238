/** The errors pipeline's public surface: Sentry payloads and OpenTelemetry exceptions into issues. */
export { ErrorIngestor, type ErrorIngestorOptions, type IssueEventKind, type IssueEventListener, type PreparedEnvelope } from './error-ingestor.js';
export { OtelExceptionCollector, type OtelExceptionOptions } from './otel-exceptions.js';
export { ProjectRegistry, formatDsn, type Project } from './projects.js';
export { ProjectRateLimiter } from './rate-limiter.js';
export { groupEvent, type Grouping } from './grouping.js';
export { Scrubber, FILTERED } from './scrub.js';
export { createEventPreparer, defaultPrepareThreads, InlinePreparer, PreparePool, type EventPreparer } from './prepare-pool.js';
