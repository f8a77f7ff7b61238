/**
 * Child process of the logs crash-safety test: opens the signal store in the directory given as
 * argv[2] and appends batches of log lines forever, several in flight at once (so they share group
 * commits), printing `acked <batch>` to stdout only after a batch's append resolved. The parent
 * SIGKILLs it mid-stream and checks that every acknowledged batch survived.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { labelsFromRecord } from '../../src/model/labels.js';
import type { LogRecord } from '../../src/model/log-record.js';
import { openSignalStore } from '../../src/storage/signal-store/index.js';

const LINES_PER_BATCH = 200;
const IN_FLIGHT = 4;

const dir = process.argv[2];
if (!dir) throw new Error('usage: logs-ingest-child.ts <dir>');
const store = await openSignalStore({ dir, logger: pino({ level: 'silent' }), registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
const stream = labelsFromRecord({ service_name: 'crash' });

function batch(id: number): LogRecord[] {
  const t = BigInt(Date.now()) * 1_000_000n;
  return Array.from({ length: LINES_PER_BATCH }, (_, i) => ({
    timeNs: t + BigInt(i),
    observedNs: t,
    service: 'crash',
    level: 'info',
    severityText: 'INFO',
    severity: 9,
    body: `batch ${id} line ${i}`,
    traceId: '',
    spanId: '',
    requestId: `b${id}`,
    stream,
    attributes: { batch: id },
    resource: {},
  }));
}

let next = 0;
async function worker(): Promise<void> {
  for (;;) {
    const id = next++;
    await store.logs.append(batch(id));
    process.stdout.write(`acked ${id}\n`);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
