/** The scrape job through which Watchkeeper stores its own /metrics, like any other target. */
import type { ScrapeConfigInput } from '../config/schema.js';

export interface SelfScrapeOptions {
  /** HOST:PORT the HTTP server listens on, e.g. `127.0.0.1:9700`. */
  readonly address: string;
  readonly intervalMs: number;
  /** A token with the `read` scope, needed when API tokens are configured (/metrics is `read`). */
  readonly bearerToken?: string;
}

/** A scrape config for the job `watchkeeper` scraping the server's own /metrics. */
export function selfScrapeConfig(options: SelfScrapeOptions): ScrapeConfigInput {
  return {
    job_name: 'watchkeeper',
    scrape_interval: options.intervalMs,
    scrape_timeout: Math.min(options.intervalMs, 10_000),
    metrics_path: '/metrics',
    scheme: 'http',
    params: {},
    honor_labels: false,
    honor_timestamps: true,
    ...(options.bearerToken === undefined ? {} : { bearer_token: options.bearerToken }),
    sample_limit: 0,
    static_configs: [{ targets: [options.address], labels: {} }],
    file_sd_configs: [],
    relabel_configs: [],
    metric_relabel_configs: [],
  };
}
