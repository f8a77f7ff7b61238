export * from './interfaces.js';
export { MemoryStorage } from './memory/memory-storage.js';
