export { configSchema, relabelConfigSchema, scrapeConfigSchema, type Config, type RelabelConfig, type ScrapeConfigInput } from './schema.js';
export { ConfigError, defaultConfig, formatPath, loadConfigFile, parseConfig } from './load.js';
export { formatDuration, parseByteSize, parseDuration } from './duration.js';
