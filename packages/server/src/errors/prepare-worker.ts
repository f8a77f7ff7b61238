/** Worker-thread entry of the event preparation pool (prepare-pool.ts): prepares the request bodies it is sent. */
import { parentPort } from 'node:worker_threads';
import { prepareBody, ScrubberCache, type PrepareJob } from './event-preparation.js';

/** A job as the pool posts it, and the answer it waits for. */
export interface PrepareRequest {
  readonly id: number;
  readonly job: PrepareJob;
}

const port = parentPort;
if (port === null) throw new Error('prepare-worker runs as a worker thread of the event preparation pool');
const scrubbers = new ScrubberCache();
port.on('message', (req: PrepareRequest) => {
  prepareBody(req.job, scrubbers).then(
    (result) => port.postMessage({ id: req.id, result }),
    (err: unknown) => port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
