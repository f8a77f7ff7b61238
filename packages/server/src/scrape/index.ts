export { ScrapeManager, type ScrapeManagerOptions, type ActiveTargetView, type DroppedTargetView, type TargetMetadataView } from './scrape-manager.js';
export type { GlobalScrapeSettings } from './scrape-pool.js';
export type { FamilyMetadata } from './scrape-loop.js';
export { Target, type TargetHealth } from './target.js';
export { compileRelabelRules, relabel, hashmod, type CompiledRelabelRule } from './relabel.js';
export { selfScrapeConfig, type SelfScrapeOptions } from './self-scrape.js';
