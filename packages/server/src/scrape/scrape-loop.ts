/**
 * One target's scrape loop: scrape on a fixed schedule (offset within the interval by the
 * target's hash), parse, attach labels, append the whole scrape plus its report series in one
 * batch, and write staleness markers as Prometheus does.
 *
 * Per series the loop keeps a cache entry keyed by the raw series text of the exposition, so a
 * series seen before costs one map lookup: labels are built and relabeled only on first sight.
 */
import type { Logger } from 'pino';
import { EntryKind, ExpositionParseError, ExpositionParser, formatFromContentType, ownString } from '../ingest/prometheus/exposition/index.js';
import { getLabel, labelsEqual, METRIC_NAME, type Labels } from '../model/labels.js';
import { STALE_NAN, type MetricMetadata, type MetricType } from '../model/samples.js';
import { AppendError, type Appendable, type Appender, type SeriesRef } from '../storage/interfaces.js';
import type { ScrapeResponse } from './http-client.js';
import type { CompiledRelabelRule } from './relabel.js';
import { mutateSampleLabels, reportLabels } from './sample-labels.js';
import type { ScrapeMetrics } from './scrape-metrics.js';
import type { Target } from './target.js';

/** Fetches a target's exposition. */
export interface Scraper {
  scrape(url: string, timeoutMs: number, signal: AbortSignal): Promise<ScrapeResponse>;
}

/** Job settings a loop applies to every scrape; replaced as a whole on configuration reload. */
export interface LoopSettings {
  readonly jobName: string;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  /** Maximum samples per scrape after metric relabeling; 0 means no limit. */
  readonly sampleLimit: number;
  readonly metricRelabelRules: readonly CompiledRelabelRule[];
  readonly scraper: Scraper;
}

export interface ScrapeLoopOptions {
  readonly target: Target;
  readonly settings: LoopSettings;
  readonly appendable: Appendable;
  readonly metrics: ScrapeMetrics;
  readonly logger: Logger;
}

/** HELP/TYPE/UNIT of one metric family as last scraped from a target. */
export interface FamilyMetadata {
  type: MetricType;
  help: string;
  unit: string;
  lastIter: number;
  changed: boolean;
}

interface CacheEntry {
  ref: SeriesRef;
  readonly labels: Labels;
  lastIter: number;
  /** The labeling-rules generation the labels were computed with. */
  generation: number;
}

interface AppendOutcome {
  total: number;
  added: number;
  seriesAdded: number;
  error: string | null;
}

const REPORT_NAMES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'] as const;

/** Cache entries unseen for this many scrapes are forgotten. */
const CACHE_MAX_IDLE_ITERATIONS = 10;

/** How far a scrape may start from its scheduled time and still be stamped with it. */
const TIMESTAMP_TOLERANCE_MS = 10;

/**
 * The timestamp of a scrape's samples. Like Prometheus (scrape timestamp alignment), a scrape
 * that fires within a small tolerance of its schedule is stamped with the scheduled time, so
 * consecutive timestamps are exactly one interval apart and compress to almost nothing in the
 * TSDB. Node timers fire a few milliseconds late, more under load, hence a tolerance larger than
 * Prometheus's 2 ms. Short intervals are not aligned: the tolerance would be a visible share.
 */
export function scrapeTimestamp(nowMs: number, scheduledMs: number, intervalMs: number): number {
  if (intervalMs < 100 * TIMESTAMP_TOLERANCE_MS) return nowMs;
  return Math.abs(nowMs - scheduledMs) <= TIMESTAMP_TOLERANCE_MS ? scheduledMs : nowMs;
}

export class ScrapeLoop {
  readonly target: Target;
  /** Metric family metadata from the latest scrapes, for the targets metadata API. */
  readonly metadata = new Map<string, FamilyMetadata>();
  private settings: LoopSettings;
  private readonly appendable: Appendable;
  private readonly metrics: ScrapeMetrics;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private nextDueMs = 0;
  private iter = 0;
  private cache = new Map<string, CacheEntry>();
  private dropped = new Map<string, number>();
  /** Series (without explicit timestamps) appended by the previous scrape and by the current one. */
  private previousSeries: CacheEntry[] = [];
  private currentSeries: CacheEntry[] = [];
  private readonly reportSeries: { labels: Labels; ref: SeriesRef }[];
  private stalenessTimer: NodeJS.Timeout | null = null;
  /** Resolves a pending stopWithStaleness() when stop() cancels its timer. */
  private abortStalenessWait: (() => void) | null = null;
  /** Bumped when honor_labels or metric relabeling change, so cached labels are recomputed. */
  private generation = 0;

  constructor(options: ScrapeLoopOptions) {
    this.target = options.target;
    this.settings = options.settings;
    this.appendable = options.appendable;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.reportSeries = REPORT_NAMES.map((name) => ({ labels: reportLabels(name, this.target.labels), ref: 0 }));
  }

  /** Schedules the first scrape at this target's offset within the interval (target hash mixed with `offsetSeed`). */
  start(offsetSeed: number): void {
    const interval = this.target.intervalMs;
    const now = Date.now();
    const offset = ((this.target.hash() ^ offsetSeed) >>> 0) % interval;
    let due = now - (now % interval) + offset;
    if (due < now) due += interval;
    this.schedule(due);
  }

  /** Applies new job settings; cached labels are rebuilt when labeling rules may have changed. */
  updateSettings(settings: LoopSettings): void {
    const labelingChanged = settings.honorLabels !== this.settings.honorLabels || settings.metricRelabelRules !== this.settings.metricRelabelRules;
    this.settings = settings;
    if (labelingChanged) {
      this.generation++;
      this.dropped = new Map();
    }
  }

  /** Stops scraping and waits for an in-flight scrape to end. Writes no staleness markers (shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stalenessTimer) clearTimeout(this.stalenessTimer);
    this.stalenessTimer = null;
    this.abortStalenessWait?.();
    this.abortStalenessWait = null;
    this.abort.abort();
    await this.running;
  }

  /**
   * Stops scraping because the target went away. As in Prometheus, staleness markers for its
   * series are written only after the next scrape would have happened plus one more interval, so
   * a target that reappears meanwhile (e.g. on a config reload) keeps its series unbroken.
   * The returned promise resolves once the markers are written or `stop()` cancels them.
   */
  async stopWithStaleness(): Promise<void> {
    const lastScrapeMs = this.target.lastScrapeMs;
    const staleTime = this.nextDueMs;
    await this.stop();
    if (lastScrapeMs === 0) return;
    const interval = this.target.intervalMs;
    const writeAt = staleTime + interval + interval / 10;
    await new Promise<void>((resolve) => {
      this.stalenessTimer = setTimeout(
        () => {
          this.stalenessTimer = null;
          void this.writeEndOfRunStaleness(staleTime).finally(resolve);
        },
        Math.max(0, writeAt - Date.now()),
      );
      this.stalenessTimer.unref();
      this.abortStalenessWait = resolve;
    });
  }

  private schedule(dueMs: number): void {
    if (this.stopped) return;
    this.nextDueMs = dueMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.scrapeAndReport(dueMs)
        .catch((err: unknown) => this.logger.error({ err, target: this.target.url }, 'scrape failed unexpectedly'))
        .finally(() => {
          this.running = null;
          const interval = this.target.intervalMs;
          let next = dueMs + interval;
          const now = Date.now();
          if (next <= now) next += Math.ceil((now - next + 1) / interval) * interval; // Skip missed ticks.
          this.schedule(next);
        });
    }, Math.max(0, dueMs - Date.now()));
  }

  /** One scrape (scheduled for `scheduledMs`): fetch, append samples, staleness markers and report series, commit. */
  async scrapeAndReport(scheduledMs: number): Promise<void> {
    const target = this.target;
    const settings = this.settings;
    const fetchStartMs = Date.now();
    const startMs = scrapeTimestamp(fetchStartMs, scheduledMs, target.intervalMs);
    this.iter++;
    let response: ScrapeResponse | null = null;
    let scrapeError: string | null = null;
    try {
      response = await settings.scraper.scrape(target.url, target.timeoutMs, this.abort.signal);
    } catch (err) {
      scrapeError = (err as Error).message;
    }
    if (this.stopped) return;
    const durationMs = Date.now() - fetchStartMs;
    let app = this.appendable.appender();
    let outcome: AppendOutcome = { total: 0, added: 0, seriesAdded: 0, error: null };
    try {
      if (response !== null) {
        outcome = this.appendExposition(app, response, startMs);
        if (outcome.error !== null) {
          app.rollback();
          app = this.appendable.appender();
        }
      }
      if (response === null || outcome.error !== null) this.appendStaleForAll(app, startMs);
      const error = scrapeError ?? outcome.error;
      this.appendReport(app, startMs, error === null ? 1 : 0, durationMs / 1000, outcome);
      await app.commit();
      target.health = error === null ? 'up' : 'down';
      target.lastError = error ?? '';
      this.metrics.scrapes.inc({ job: settings.jobName, result: error === null ? 'success' : 'failure' });
    } catch (err) {
      app.rollback();
      this.metrics.commitFailures.inc();
      target.health = 'down';
      target.lastError = `cannot store the scrape: ${(err as Error).message}`;
      this.logger.warn({ err, target: target.url }, 'scrape could not be stored');
    }
    target.lastScrapeMs = startMs;
    target.lastScrapeDurationMs = durationMs;
    if (this.iter % CACHE_MAX_IDLE_ITERATIONS === 0) this.sweepCache();
  }

  /** Parses the body and appends its samples. Returns counts and, on failure, the reason (the batch is then rolled back). */
  private appendExposition(app: Appender, response: ScrapeResponse, scrapeTimeMs: number): AppendOutcome {
    const settings = this.settings;
    const iter = this.iter;
    const parser = new ExpositionParser(response.body, { format: formatFromContentType(response.contentType) });
    const current = this.currentSeries;
    current.length = 0;
    const outcome: AppendOutcome = { total: 0, added: 0, seriesAdded: 0, error: null };
    let exemplars = 0;
    try {
      for (let kind = parser.next(); kind !== EntryKind.End; kind = parser.next()) {
        if (kind !== EntryKind.Sample) {
          this.noteMetadata(parser, kind);
          continue;
        }
        outcome.total++;
        if (parser.hasExemplar()) exemplars++;
        const key = parser.seriesKey();
        let entry = this.cache.get(key);
        let isNew = false;
        if (entry === undefined || entry.generation !== this.generation) {
          if (this.dropped.has(key)) {
            this.dropped.set(key, iter);
            continue;
          }
          const labels = mutateSampleLabels(parser.labels(), this.target.labels, settings.honorLabels, settings.metricRelabelRules);
          if (labels === null) {
            this.cache.delete(key);
            this.dropped.set(ownString(key), iter);
            continue;
          }
          if (getLabel(labels, METRIC_NAME) === undefined) {
            outcome.error = `line ${parser.lineNumber()}: the series has no metric name after relabeling`;
            break;
          }
          if (entry !== undefined && labelsEqual(entry.labels, labels)) {
            entry.generation = this.generation;
          } else {
            // A new entry object: the old one, if any, still ends its series with a staleness marker.
            entry = { ref: 0, labels, lastIter: iter, generation: this.generation };
            this.cache.set(ownString(key), entry);
            isNew = true;
          }
        }
        entry.lastIter = iter;
        outcome.added++;
        if (settings.sampleLimit > 0 && outcome.added > settings.sampleLimit) continue;
        const explicit = settings.honorTimestamps ? parser.timestamp() : null;
        try {
          entry.ref = app.append(entry.ref, entry.labels, explicit ?? scrapeTimeMs, parser.value());
        } catch (err) {
          if (!(err instanceof AppendError)) throw err;
          this.metrics.samplesRejected.inc({ reason: err.code });
          continue;
        }
        if (isNew) outcome.seriesAdded++;
        if (explicit === null) current.push(entry);
      }
    } catch (err) {
      if (!(err instanceof ExpositionParseError)) throw err;
      outcome.error = err.message;
    }
    if (exemplars > 0) this.metrics.exemplarsDropped.inc(exemplars);
    if (outcome.error === null && settings.sampleLimit > 0 && outcome.added > settings.sampleLimit) {
      this.metrics.sampleLimitExceeded.inc();
      outcome.error = `sample limit exceeded: ${outcome.added} samples after relabeling, limit ${settings.sampleLimit}`;
    }
    if (outcome.error !== null) return outcome;
    // Series of the previous scrape missing from this one end with a staleness marker.
    for (const prev of this.previousSeries) {
      if (prev.lastIter !== iter) this.appendQuietly(app, prev, scrapeTimeMs, STALE_NAN);
    }
    this.currentSeries = this.previousSeries;
    this.previousSeries = current;
    this.flushMetadata(app);
    return outcome;
  }

  private noteMetadata(parser: ExpositionParser, kind: EntryKind): void {
    const name = parser.metadataName();
    let family = this.metadata.get(name);
    if (family === undefined) {
      family = { type: 'unknown', help: '', unit: '', lastIter: this.iter, changed: true };
      this.metadata.set(name, family);
    }
    family.lastIter = this.iter;
    if (kind === EntryKind.Type && family.type !== parser.metadataType()) {
      family.type = parser.metadataType();
      family.changed = true;
    } else if (kind === EntryKind.Help && family.help !== parser.metadataText()) {
      family.help = parser.metadataText();
      family.changed = true;
    } else if (kind === EntryKind.Unit && family.unit !== parser.metadataText()) {
      family.unit = parser.metadataText();
      family.changed = true;
    }
  }

  private flushMetadata(app: Appender): void {
    for (const [name, family] of this.metadata) {
      if (!family.changed || family.lastIter !== this.iter) continue;
      const metadata: MetricMetadata = { type: family.type, help: family.help, unit: family.unit };
      app.updateMetadata(name, metadata);
      family.changed = false;
    }
  }

  /** A failed scrape ends every series of the previous one. */
  private appendStaleForAll(app: Appender, timeMs: number): void {
    for (const prev of this.previousSeries) this.appendQuietly(app, prev, timeMs, STALE_NAN);
    this.previousSeries = [];
  }

  private appendReport(app: Appender, timeMs: number, up: number, durationSeconds: number, outcome: AppendOutcome): void {
    const values = [up, durationSeconds, outcome.total, outcome.added, outcome.seriesAdded];
    for (let i = 0; i < this.reportSeries.length; i++) this.appendQuietly(app, this.reportSeries[i]!, timeMs, values[i]!);
  }

  /** Appends a sample whose rejection is counted, not fatal (staleness markers, report series). */
  private appendQuietly(app: Appender, series: { labels: Labels; ref: SeriesRef }, timeMs: number, value: number): void {
    try {
      series.ref = app.append(series.ref, series.labels, timeMs, value);
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      this.metrics.samplesRejected.inc({ reason: err.code });
    }
  }

  private async writeEndOfRunStaleness(staleTimeMs: number): Promise<void> {
    const app = this.appendable.appender();
    try {
      this.appendStaleForAll(app, staleTimeMs);
      for (const series of this.reportSeries) this.appendQuietly(app, series, staleTimeMs, STALE_NAN);
      await app.commit();
    } catch (err) {
      app.rollback();
      this.metrics.commitFailures.inc();
      this.logger.warn({ err, target: this.target.url }, 'staleness markers for a removed target could not be stored');
    }
  }

  private sweepCache(): void {
    const oldest = this.iter - CACHE_MAX_IDLE_ITERATIONS;
    for (const [key, entry] of this.cache) if (entry.lastIter < oldest) this.cache.delete(key);
    for (const [key, iter] of this.dropped) if (iter < oldest) this.dropped.delete(key);
    for (const [name, family] of this.metadata) if (family.lastIter < oldest) this.metadata.delete(name);
  }
}
