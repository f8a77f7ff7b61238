/** Results a thread's handler returns with buffers to move to the event loop rather than copy. */
const transfers = new WeakMap<object, ArrayBuffer[]>();

/** Marks `result` to be posted with `buffers` moved (they are unusable in the thread afterwards). */
export function transferring<T extends object>(result: T, buffers: ArrayBuffer[]): T {
  transfers.set(result, buffers);
  return result;
}

/** The buffers `result` was marked with, if any. */
export function transferListOf(result: unknown): ArrayBuffer[] {
  return (typeof result === 'object' && result !== null && transfers.get(result)) || [];
}
