/** The scrape subsystem's own metrics (Prometheus's prometheus_target_* family, renamed). */
import { Counter, type CounterConfiguration, type Registry } from 'prom-client';

export interface ScrapeMetrics {
  readonly scrapes: Counter<'job' | 'result'>;
  readonly exemplarsDropped: Counter;
  readonly samplesRejected: Counter<'reason'>;
  readonly sampleLimitExceeded: Counter;
  readonly commitFailures: Counter;
  readonly fileSdReadErrors: Counter;
}

/** Returns the registry's counter of that name if one exists (a second manager on the same registry), else creates it. */
function counter<L extends string>(registry: Registry, config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return (registry.getSingleMetric(config.name) as Counter<L> | undefined) ?? new Counter({ ...config, registers: [registry] });
}

export function createScrapeMetrics(registry: Registry): ScrapeMetrics {
  return {
    scrapes: counter<'job' | 'result'>(registry, {
      name: 'watchkeeper_scrape_scrapes_total',
      help: 'Scrapes performed, by job and result (success or failure).',
      labelNames: ['job', 'result'],
    }),
    exemplarsDropped: counter(registry, {
      name: 'watchkeeper_scrape_exemplars_dropped_total',
      help: 'Exemplars found in scraped expositions and dropped (exemplar storage is not supported).',
    }),
    samplesRejected: counter<'reason'>(registry, {
      name: 'watchkeeper_scrape_samples_rejected_total',
      help: 'Scraped samples the storage rejected, by reason (out_of_order, duplicate_sample_for_timestamp, too_old, ...).',
      labelNames: ['reason'],
    }),
    sampleLimitExceeded: counter(registry, {
      name: 'watchkeeper_scrape_sample_limit_exceeded_total',
      help: 'Scrapes rejected because they exceeded the job sample_limit.',
    }),
    commitFailures: counter(registry, {
      name: 'watchkeeper_scrape_commit_failures_total',
      help: 'Scrapes whose samples could not be committed to storage.',
    }),
    fileSdReadErrors: counter(registry, {
      name: 'watchkeeper_scrape_file_sd_read_errors_total',
      help: 'file_sd files that could not be read or parsed (the last good targets are kept).',
    }),
  };
}
