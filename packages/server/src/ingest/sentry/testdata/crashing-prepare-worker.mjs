// The real preparation thread, ending itself at once when a body carries the marker, as a crash
// in the middle of a request would (sentry-prepare-crash.test.ts).
import prepare from '../../../errors/prepare-worker.ts';

export default function crashingPrepare(job) {
  if (Buffer.from(job.body).includes('crash-this-preparation-thread')) process.exit(3);
  return prepare(job);
}
