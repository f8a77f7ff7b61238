/**
 * A scrape pool: one job's target discovery (static and file_sd), its targets after relabeling,
 * and one scrape loop per target. Discovery updates and reloads diff the target set: loops of
 * unchanged targets keep running, new targets get loops, vanished ones end with staleness markers.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ScrapeConfigInput } from '../config/schema.js';
import type { Labels } from '../model/labels.js';
import type { Appendable } from '../storage/interfaces.js';
import { FileDiscovery } from './file-sd.js';
import { ScrapeHttpClient } from './http-client.js';
import { compileRelabelRules } from './relabel.js';
import { ScrapeLoop, type LoopSettings } from './scrape-loop.js';
import type { ScrapeMetrics } from './scrape-metrics.js';
import { populateTarget, type Target, type TargetDefaults, type TargetGroup } from './target.js';

/** Settings from the `global` section that jobs inherit. */
export interface GlobalScrapeSettings {
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly externalLabels: Readonly<Record<string, string>>;
}

export interface ScrapePoolOptions {
  readonly appendable: Appendable;
  readonly logger: Logger;
  readonly metrics: ScrapeMetrics;
  readonly configDir: string;
  /** Mixed into every target's scrape offset, so replicas with different external labels spread apart. */
  readonly offsetSeed: number;
}

const STATIC_PROVIDER = 'static';

export class ScrapePool {
  readonly jobName: string;
  private config: ScrapeConfigInput;
  private defaults: TargetDefaults;
  private settings: LoopSettings;
  private client: ScrapeHttpClient;
  private readonly options: ScrapePoolOptions;
  private readonly logger: Logger;
  private readonly groupsByProvider = new Map<string, readonly TargetGroup[]>();
  private readonly loops = new Map<string, ScrapeLoop>();
  /** Loops of removed targets still waiting to write their staleness markers. */
  private readonly retiring = new Map<ScrapeLoop, Promise<void>>();
  private discoveries: FileDiscovery[] = [];
  private dropped: Labels[] = [];
  private stopped = false;

  constructor(config: ScrapeConfigInput, global: GlobalScrapeSettings, options: ScrapePoolOptions) {
    this.jobName = config.job_name;
    this.options = options;
    this.logger = options.logger.child({ scrape_pool: config.job_name });
    this.config = config;
    this.client = new ScrapeHttpClient(config, options.configDir);
    this.defaults = buildDefaults(config, global);
    this.settings = this.buildSettings();
    this.groupsByProvider.set(STATIC_PROVIDER, staticGroups(config));
    this.startDiscoveries();
    this.sync();
  }

  /** Applies a changed job configuration. */
  reload(config: ScrapeConfigInput, global: GlobalScrapeSettings): void {
    const fileSdChanged = JSON.stringify(config.file_sd_configs) !== JSON.stringify(this.config.file_sd_configs);
    if (httpFingerprint(config) !== httpFingerprint(this.config)) {
      // Scrapes in flight finish on the old client; close it once they must have ended.
      const oldClient = this.client;
      this.client = new ScrapeHttpClient(config, this.options.configDir);
      setTimeout(() => oldClient.close(), this.defaults.timeoutMs + 1000).unref();
    }
    this.config = config;
    this.defaults = buildDefaults(config, global);
    this.settings = this.buildSettings();
    this.groupsByProvider.set(STATIC_PROVIDER, staticGroups(config));
    if (fileSdChanged) {
      for (const d of this.discoveries) d.stop();
      for (const key of [...this.groupsByProvider.keys()]) if (key !== STATIC_PROVIDER) this.groupsByProvider.delete(key);
      this.startDiscoveries();
    }
    this.sync();
  }

  /** Current targets, sorted by URL. */
  activeTargets(): Target[] {
    return [...this.loops.values()].map((l) => l.target).sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  }

  /** Discovered labels of targets that relabeling dropped. */
  droppedTargets(): readonly Labels[] {
    return this.dropped;
  }

  loopsView(): readonly ScrapeLoop[] {
    return [...this.loops.values()];
  }

  /** Stops everything without staleness markers (shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.discoveries) d.stop();
    await Promise.all([...this.loops.values(), ...this.retiring.keys()].map((l) => l.stop()));
    this.loops.clear();
    this.client.close();
  }

  /** Stops because the job was removed: every target ends with staleness markers. */
  retire(): void {
    for (const d of this.discoveries) d.stop();
    for (const loop of this.loops.values()) this.retireLoop(loop);
    this.loops.clear();
  }

  /** Waits for removed targets' staleness markers (tests and orderly shutdown use it). */
  async settled(): Promise<void> {
    await Promise.all(this.retiring.values());
  }

  private retireLoop(loop: ScrapeLoop): void {
    this.retiring.set(
      loop,
      loop.stopWithStaleness().finally(() => this.retiring.delete(loop)),
    );
  }

  private buildSettings(): LoopSettings {
    const c = this.config;
    return {
      jobName: c.job_name,
      honorLabels: c.honor_labels,
      honorTimestamps: c.honor_timestamps,
      sampleLimit: c.sample_limit,
      metricRelabelRules: compileRelabelRules(c.metric_relabel_configs),
      scraper: this.client,
    };
  }

  private startDiscoveries(): void {
    this.discoveries = this.config.file_sd_configs.map((sd, i) => {
      const provider = `file_sd/${i}`;
      const discovery = new FileDiscovery({
        patterns: sd.files.map((f) => (isAbsolute(f) ? f : resolve(this.options.configDir, f))),
        refreshIntervalMs: sd.refresh_interval,
        logger: this.logger,
        metrics: this.options.metrics,
        onUpdate: (groups) => {
          if (this.stopped || !this.discoveries.includes(discovery)) return;
          this.groupsByProvider.set(provider, groups);
          this.sync();
        },
      });
      void discovery.start();
      return discovery;
    });
  }

  /** Recomputes targets from every provider's groups and starts or retires loops accordingly. */
  private sync(): void {
    if (this.stopped) return;
    const next = new Map<string, Target>();
    const dropped: Labels[] = [];
    for (const groups of this.groupsByProvider.values()) {
      for (const group of groups) {
        for (const address of group.targets) {
          const result = populateTarget(address, group.labels, this.defaults);
          if (result.kind === 'active') next.set(result.target.key, result.target);
          else if (result.kind === 'dropped') dropped.push(result.discoveredLabels);
          else this.logger.warn({ address, source: group.source, reason: result.error }, 'invalid scrape target skipped');
        }
      }
    }
    this.dropped = dropped;
    for (const [key, loop] of this.loops) {
      if (next.has(key)) continue;
      this.loops.delete(key);
      this.retireLoop(loop);
    }
    for (const [key, target] of next) {
      const existing = this.loops.get(key);
      if (existing) {
        existing.updateSettings(this.settings);
        continue;
      }
      const loop = new ScrapeLoop({ target, settings: this.settings, appendable: this.options.appendable, metrics: this.options.metrics, logger: this.logger });
      this.loops.set(key, loop);
      loop.start(this.options.offsetSeed);
    }
  }
}

function buildDefaults(config: ScrapeConfigInput, global: GlobalScrapeSettings): TargetDefaults {
  const intervalMs = config.scrape_interval ?? global.scrapeIntervalMs;
  return {
    jobName: config.job_name,
    scheme: config.scheme,
    metricsPath: config.metrics_path,
    intervalMs,
    timeoutMs: config.scrape_timeout ?? Math.min(global.scrapeTimeoutMs, intervalMs),
    params: config.params,
    relabelRules: compileRelabelRules(config.relabel_configs),
  };
}

/** The configuration the HTTP client is built from. */
function httpFingerprint(config: ScrapeConfigInput): string {
  return JSON.stringify([config.basic_auth, config.bearer_token, config.bearer_token_file, config.tls_config]);
}

function staticGroups(config: ScrapeConfigInput): TargetGroup[] {
  return config.static_configs.map((g, i) => ({ targets: g.targets, labels: g.labels, source: `static/${i}` }));
}
