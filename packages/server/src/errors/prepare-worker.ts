/** Thread of the event preparation pool (prepare-pool.ts): prepares one request body per task. */
import { prepareBody, ScrubberCache, type PrepareJob, type Preparation } from './event-preparation.js';

const scrubbers = new ScrubberCache();

export default function prepare(job: PrepareJob): Promise<Preparation> {
  return prepareBody(job, scrubbers);
}
