/**
 * The entry of every thread of a ThreadPool (thread-pool.ts): loads the module named in
 * workerData and answers each task with what its default export returns, moving the buffers the
 * handler marked with `transferring`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { transferListOf } from './transfer.js';

/** A task as the pool posts it. */
export interface TaskRequest {
  readonly id: number;
  readonly task: unknown;
}

/** A thread's answer: the handler's result, or the message of what it threw. */
export type TaskReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

const port = parentPort;
if (port === null) throw new Error('task-worker runs as a thread of a ThreadPool');
const { module } = workerData as { module: string };
const handler = ((await import(module)) as { default: (task: unknown) => unknown }).default;

port.on('message', (req: TaskRequest) => {
  Promise.resolve()
    .then(() => handler(req.task))
    .then(
      (result) => port.postMessage({ id: req.id, result } satisfies TaskReply, transferListOf(result)),
      (err: unknown) => port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies TaskReply),
    );
});
