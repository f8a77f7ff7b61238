/**
 * The scrape manager: one scrape pool per job. `applyConfig` is idempotent, so a configuration
 * reload keeps unchanged jobs running untouched, reloads changed ones and retires removed ones
 * (their series end with staleness markers).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ScrapeConfigInput } from '../config/schema.js';
import { labelsFromRecord, labelsKey, type Labels } from '../model/labels.js';
import type { HealthRegistry } from '../selfobs/health.js';
import type { Appendable } from '../storage/interfaces.js';
import type { FamilyMetadata } from './scrape-loop.js';
import { createScrapeMetrics, type ScrapeMetrics } from './scrape-metrics.js';
import { ScrapePool, type GlobalScrapeSettings } from './scrape-pool.js';
import { fnv1a32, type Target } from './target.js';

export interface ScrapeManagerOptions {
  readonly appendable: Appendable;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health?: HealthRegistry;
  /** Base directory for relative file_sd, credential and certificate file names. */
  readonly configDir: string;
}

/** A target as the targets API shows it. */
export interface ActiveTargetView {
  readonly scrapePool: string;
  readonly target: Target;
}

export interface DroppedTargetView {
  readonly scrapePool: string;
  readonly discoveredLabels: Labels;
}

/** Metric metadata scraped from one target. */
export interface TargetMetadataView {
  readonly target: Target;
  readonly metadata: ReadonlyMap<string, FamilyMetadata>;
}

interface PoolEntry {
  pool: ScrapePool;
  /** The configuration the pool runs, serialised for change detection. */
  fingerprint: string;
}

export class ScrapeManager {
  private readonly options: ScrapeManagerOptions;
  private readonly logger: Logger;
  private readonly metrics: ScrapeMetrics;
  private readonly pools = new Map<string, PoolEntry>();
  private readonly retired = new Set<ScrapePool>();
  private stopped = false;
  private readonly targetsGauge: Gauge<'job' | 'state'>;

  constructor(options: ScrapeManagerOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'scrape' });
    this.metrics = createScrapeMetrics(options.registry);
    // The gauge reads this manager's pools, so a newer manager on the same registry takes it over.
    options.registry.removeSingleMetric('watchkeeper_scrape_targets');
    this.targetsGauge = new Gauge({
      name: 'watchkeeper_scrape_targets',
      help: 'Scrape targets by job and state (active or dropped by relabeling).',
      labelNames: ['job', 'state'],
      registers: [options.registry],
      collect: () => this.collectTargetCounts(),
    });
    options.health?.register('scrape', () => {
      let up = 0;
      let down = 0;
      for (const { target } of this.targets().active) {
        if (target.health === 'up') up++;
        else if (target.health === 'down') down++;
      }
      return { status: 'ok', details: { jobs: this.pools.size, targets_up: up, targets_down: down } };
    });
  }

  /** Starts, reloads or retires pools so that exactly the given jobs run. */
  applyConfig(scrapeConfigs: readonly ScrapeConfigInput[], global: GlobalScrapeSettings): void {
    if (this.stopped) return;
    const seed = offsetSeed(global.externalLabels);
    const wanted = new Set<string>();
    for (const config of scrapeConfigs) {
      wanted.add(config.job_name);
      const fingerprint = JSON.stringify([config, global.scrapeIntervalMs, global.scrapeTimeoutMs, seed]);
      const existing = this.pools.get(config.job_name);
      if (existing?.fingerprint === fingerprint) continue;
      try {
        if (existing) {
          existing.pool.reload(config, global);
          existing.fingerprint = fingerprint;
        } else {
          const pool = new ScrapePool(config, global, {
            appendable: this.options.appendable,
            logger: this.logger,
            metrics: this.metrics,
            configDir: this.options.configDir,
            offsetSeed: seed,
          });
          this.pools.set(config.job_name, { pool, fingerprint });
        }
      } catch (err) {
        // An invalid relabel regex is caught by config validation; this guards anything else.
        this.logger.error({ err, job: config.job_name }, 'cannot apply scrape config');
      }
    }
    for (const [job, entry] of this.pools) {
      if (wanted.has(job)) continue;
      this.pools.delete(job);
      entry.pool.retire();
      this.retired.add(entry.pool);
      void entry.pool.settled().then(() => this.retired.delete(entry.pool));
    }
  }

  /** Stops every scrape (no staleness markers: a restart continues the series). */
  async stop(): Promise<void> {
    this.stopped = true;
    const pools = [...[...this.pools.values()].map((e) => e.pool), ...this.retired];
    this.pools.clear();
    this.retired.clear();
    this.options.health?.unregister('scrape');
    await Promise.all(pools.map((p) => p.stop()));
  }

  /** Resolves once removed targets have written their staleness markers. */
  async settled(): Promise<void> {
    await Promise.all([...[...this.pools.values()].map((e) => e.pool), ...this.retired].map((p) => p.settled()));
  }

  /** Active and dropped targets of every job, jobs in name order. */
  targets(): { active: ActiveTargetView[]; dropped: DroppedTargetView[] } {
    const active: ActiveTargetView[] = [];
    const dropped: DroppedTargetView[] = [];
    for (const job of [...this.pools.keys()].sort()) {
      const pool = this.pools.get(job)!.pool;
      for (const target of pool.activeTargets()) active.push({ scrapePool: job, target });
      for (const discoveredLabels of pool.droppedTargets()) dropped.push({ scrapePool: job, discoveredLabels });
    }
    return { active, dropped };
  }

  /** Scraped metric metadata per active target. */
  targetMetadata(): TargetMetadataView[] {
    const out: TargetMetadataView[] = [];
    for (const job of [...this.pools.keys()].sort()) {
      for (const loop of this.pools.get(job)!.pool.loopsView()) out.push({ target: loop.target, metadata: loop.metadata });
    }
    return out;
  }

  private collectTargetCounts(): void {
    const gauge = this.targetsGauge;
    gauge.reset();
    for (const [job, { pool }] of this.pools) {
      gauge.set({ job, state: 'active' }, pool.activeTargets().length);
      gauge.set({ job, state: 'dropped' }, pool.droppedTargets().length);
    }
  }
}

/** Prometheus seeds scrape offsets with the external labels, so HA replicas scrape at different moments. */
function offsetSeed(externalLabels: Readonly<Record<string, string>>): number {
  return fnv1a32(labelsKey(labelsFromRecord(externalLabels)));
}
