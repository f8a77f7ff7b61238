export * from './interfaces.js';
export { MemoryStorage } from './memory/memory-storage.js';
export type * from './trace-store.js';
