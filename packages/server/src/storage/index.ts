export * from './interfaces.js';
export { MemoryStorage } from './memory/memory-storage.js';
export type * from './trace-store.js';
export type * from './log-store.js';
