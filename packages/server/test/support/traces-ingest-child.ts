/**
 * Child process of the traces crash-safety test: opens the signal store in the directory given as
 * argv[2], serves OTLP/HTTP `POST /v1/traces` on a free port and prints `port <n>`. The parent
 * posts traces, notes those answered 200 (durable), SIGKILLs this process mid-stream and checks
 * that every acknowledged span survived.
 */
import { registerOtlpTracesRoutes } from '../../src/ingest/otlp/traces-routes.js';
import { DuckDBTraceStore, openSignalStore } from '../../src/storage/signal-store/index.js';
import { createIngestHarness } from './ingest-harness.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: traces-ingest-child.ts <dir>');
const h = createIngestHarness();
const signals = await openSignalStore({ dir, logger: h.logger, registry: h.metrics.registry, retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
const traces = await DuckDBTraceStore.open(signals, { retentionMs: 0 });
registerOtlpTracesRoutes(h.app, { store: traces, logger: h.logger, registry: h.metrics.registry });
const url = await h.listen();
process.stdout.write(`port ${new URL(url).port}\n`);
