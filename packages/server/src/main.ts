/**
 * The composition root: the only module that knows every concrete component. It opens storage,
 * builds the HTTP listeners, applies configuration (and reloads), and shuts everything down in order.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AccessControl, sha256Hex, type TokenEntry } from './api/auth.js';
import { createHttpServer } from './api/http-server.js';
import { registerMetadataApi } from './api/prometheus/metadata-api.js';
import { registerQueryApi } from './api/prometheus/query-api.js';
import { registerTargetsApi } from './api/prometheus/targets-api.js';
import { registerSystemRoutes } from './api/system-routes.js';
import { registerAlertmanagerApi } from './api/alertmanager/alertmanager-routes.js';
import { AlertingConfigError, AlertManagerService, loadAlertingSection, type AmConfig } from './alerting/index.js';
import { loadConfigFile, ConfigError, type Config, type ScrapeConfigInput } from './config/index.js';
import { registerRemoteWriteRoutes } from './ingest/prometheus/remote-write/remote-write-routes.js';
import { registerOtlpMetricsRoutes, startOtlpGrpcServer, type OtlpGrpcServerHandle, type OtlpGrpcService } from './ingest/otlp/index.js';
import { OtlpLogsReceiver } from './ingest/otlp/otlp-logs-receiver.js';
import { registerOtlpLogsRoutes } from './ingest/otlp/logs-routes.js';
import { otlpLogsGrpcService } from './ingest/otlp/logs-grpc.js';
import { OtlpTracesReceiver } from './ingest/otlp/otlp-traces-receiver.js';
import { registerOtlpTracesRoutes } from './ingest/otlp/traces-routes.js';
import { otlpTracesGrpcService } from './ingest/otlp/traces-grpc.js';
import { registerLogIngestRoutes } from './ingest/log-routes.js';
import { registerSentryIngestRoutes } from './ingest/sentry/sentry-routes.js';
import { registerLokiApi } from './api/loki/index.js';
import { registerTempoApi } from './api/tempo/tempo-api.js';
import { registerErrorsApi } from './api/errors/issues-api.js';
import { ErrorIngestor, OtelExceptionCollector, ProjectRateLimiter, ProjectRegistry, type IssueEventKind } from './errors/index.js';
import type { Issue } from './model/error-issue.js';
import type { ErrorEvent } from './model/error-event.js';
import { SpanMetricsGenerator } from './span-metrics/span-metrics-generator.js';
import { openSignalStore, DuckDBTraceStore, type SignalStore } from './storage/signal-store/index.js';
import { DuckDBErrorStore } from './storage/signal-store/errors/duckdb-error-store.js';
import { Engine } from './promql/index.js';
import { ScrapeManager, selfScrapeConfig } from './scrape/index.js';
import { loadRuleFiles, RuleManager, type RuleGroupSpec } from './rules/index.js';
import { registerRulesApi } from './api/prometheus/rules-api.js';
import { openTsdb, type Tsdb } from './tsdb/index.js';
import { DirectoryLockedError, lockDirectory } from './storage/dir-lock.js';
import { HealthRegistry } from './selfobs/health.js';
import { createSelfMetrics, type SelfMetrics } from './selfobs/metrics.js';
import { VERSION } from './version.js';

export interface StartOptions {
  readonly config: Config;
  /** The file the configuration came from; reloads re-read it. Null when running on defaults. */
  readonly configPath: string | null;
  readonly logger: Logger;
  /** Allow a non-loopback listener without access tokens. */
  readonly insecure?: boolean;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function parseListenAddress(text: string): ListenAddress {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(text.slice(colon + 1)) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** What the sections validated outside the schema (Alertmanager routing, rule files) load to. */
export interface ResolvedSections {
  readonly alerting: AmConfig | null;
  readonly ruleGroups: readonly RuleGroupSpec[];
}

/** Relative rule files, file_sd files and alerting config files are relative to the configuration file. */
export function configDirOf(configPath: string | null): string {
  return configPath ? dirname(resolve(configPath)) : process.cwd();
}

/**
 * Validates the parts of a configuration that reference other files or languages (Alertmanager
 * routing, templates, rule files), after the schema check. Throws ConfigError with every problem.
 * Start, reload and `check-config` all go through here, so they accept exactly the same files.
 */
export async function resolveSections(config: Config, configPath: string | null): Promise<ResolvedSections> {
  const problems: string[] = [];
  let alerting: AmConfig | null = null;
  if (config.alerting) {
    try {
      alerting = loadAlertingSection(config.alerting, configPath);
    } catch (err) {
      if (!(err instanceof AlertingConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  const rules = await loadRuleFiles(config.rule_files, configDirOf(configPath), config.global.evaluation_interval);
  problems.push(...rules.errors);
  if (problems.length > 0) throw new ConfigError(problems);
  return { alerting, ruleGroups: rules.groups };
}

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Binds a listener, turning the errors people hit into one clear sentence that names the address. */
async function listen(app: FastifyInstance, what: string, address: ListenAddress): Promise<number> {
  try {
    await app.listen({ host: address.host || '0.0.0.0', port: address.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${address.host}:${address.port}`;
    if (code === 'EADDRINUSE') throw new StartupError(`cannot listen on ${where} for ${what}: the address is already in use`);
    if (code === 'EACCES') throw new StartupError(`cannot listen on ${where} for ${what}: permission denied`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`cannot listen on ${where} for ${what}: no such local address`);
    throw new StartupError(`cannot listen on ${where} for ${what}: ${(err as Error).message}`);
  }
  const info = app.server.address();
  return typeof info === 'object' && info !== null ? info.port : address.port;
}

function urlFor(host: string, port: number): string {
  const h = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** How long a new-issue or regression alert stays firing. */
const ISSUE_ALERT_DURATION_MS = 5 * 60_000;

/** Job name of Watchkeeper's scrape of its own /metrics. */
export const SELF_SCRAPE_JOB = 'watchkeeper';

/** Components that need stopping; null until started. doStop() closes them producers first, storage last. */
interface Started {
  tsdb: Tsdb | null;
  signals: SignalStore | null;
  spanMetrics: SpanMetricsGenerator | null;
  alertmanager: AlertManagerService | null;
  rules: RuleManager | null;
  scrapeManager: ScrapeManager | null;
  otlpHttpApp: FastifyInstance | null;
  otlpGrpc: OtlpGrpcServerHandle | null;
}

export class Watchkeeper {
  readonly health = new HealthRegistry();
  readonly metrics: SelfMetrics;
  readonly startedAt = Date.now();
  /** Base URL of the main listener, known once it is bound. */
  url = '';
  otlpHttpUrl = '';
  otlpGrpcAddress = '';
  private config: Config;
  private accessControl: AccessControl;
  private readonly app: FastifyInstance;
  private readonly logger: Logger;
  /** Watchkeeper scrapes its own /metrics with this token when access tokens are configured. */
  private readonly selfScrapeToken = randomBytes(24).toString('base64url');
  /** Error-tracking projects; rebuilt on reload, which is how a removed key is revoked. */
  private projects: ProjectRegistry;
  /** OTLP gRPC services beyond metrics (logs, traces), collected while components start. */
  private readonly grpcServices: OtlpGrpcService[] = [];
  private readonly started: Started = { tsdb: null, signals: null, spanMetrics: null, alertmanager: null, rules: null, scrapeManager: null, otlpHttpApp: null, otlpGrpc: null };
  private releaseLock: (() => Promise<void>) | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(private readonly opts: StartOptions) {
    this.config = opts.config;
    this.logger = opts.logger.child({ component: 'server' });
    this.metrics = createSelfMetrics(VERSION);
    this.accessControl = this.buildAccessControl(opts.config);
    this.projects = new ProjectRegistry(opts.config.projects);
    this.app = this.createApp();
    this.health.register('config', () => ({ status: 'ok', details: { file: this.opts.configPath ?? '(defaults)' } }));
    registerSystemRoutes(this.app, {
      health: this.health,
      metrics: this.metrics,
      version: VERSION,
      startedAt: this.startedAt,
      reload: () => this.reload(),
    });
  }

  private createApp(): FastifyInstance {
    return createHttpServer({
      logger: this.opts.logger,
      metrics: this.metrics,
      accessControl: () => this.accessControl,
      bodyLimitBytes: this.config.server.max_body_bytes,
    });
  }

  /** The configured tokens plus, when there are any, the internal one the self-scrape presents. */
  private buildAccessControl(config: Config): AccessControl {
    const tokens: TokenEntry[] = [...config.auth.tokens];
    if (tokens.length > 0) tokens.push({ name: 'self-scrape', token_sha256: sha256Hex(this.selfScrapeToken), scopes: ['read'] });
    return new AccessControl(tokens);
  }

  private scrapeConfigs(config: Config): ScrapeConfigInput[] {
    const configs = [...config.scrape_configs];
    if (config.self_scrape.enabled && this.url !== '' && !configs.some((c) => c.job_name === SELF_SCRAPE_JOB)) {
      configs.unshift(selfScrapeConfig({ address: new URL(this.url).host, intervalMs: config.self_scrape.interval, bearerToken: this.selfScrapeToken }));
    }
    return configs;
  }

  private applyScrapeConfig(config: Config): void {
    this.started.scrapeManager?.applyConfig(this.scrapeConfigs(config), {
      scrapeIntervalMs: config.global.scrape_interval,
      scrapeTimeoutMs: config.global.scrape_timeout,
      externalLabels: config.global.external_labels,
    });
  }

  /** Opens storage and registers every pillar's routes on the main app (and the OTLP/HTTP app). */
  private async startComponents(config: Config, sections: ResolvedSections, dataDir: string): Promise<void> {
    const root = this.opts.logger;
    const registry = this.metrics.registry;
    const tsdbConfig = config.storage.tsdb;
    const tsdb = await openTsdb({
      dir: join(dataDir, 'tsdb'),
      logger: root.child({ component: 'tsdb' }),
      registry,
      health: this.health,
      blockDurationMs: tsdbConfig.block_duration,
      retentionMs: config.storage.retention.metrics,
      retentionBytes: config.storage.retention.metrics_size,
      outOfOrderWindowMs: tsdbConfig.out_of_order_window,
      walSegmentBytes: tsdbConfig.wal_segment_size,
      maxLabelNameLength: tsdbConfig.max_label_name_length,
      maxLabelValueLength: tsdbConfig.max_label_value_length,
      maxLabelsPerSeries: tsdbConfig.max_labels_per_series,
      maxSeriesPerRequest: tsdbConfig.max_series_per_request,
    });
    this.started.tsdb = tsdb;

    const engine = new Engine({
      lookbackDeltaMs: config.query.lookback_delta,
      timeoutMs: config.query.timeout,
      maxSamples: config.query.max_samples,
      maxConcurrency: config.query.max_concurrency,
      logger: root.child({ component: 'promql' }),
    });
    registerQueryApi(this.app, { engine, queryable: tsdb });
    registerMetadataApi(this.app, { queryable: tsdb, metadata: tsdb, status: tsdb, version: VERSION });

    registerRemoteWriteRoutes(this.app, { appendable: tsdb, logger: root, registry, maxSeriesPerRequest: tsdbConfig.max_series_per_request });
    const otlpDeps = { appendable: tsdb, logger: root, registry };
    registerOtlpMetricsRoutes(this.app, otlpDeps);
    if (config.server.otlp_http.enabled) {
      this.started.otlpHttpApp = this.createApp();
      registerOtlpMetricsRoutes(this.started.otlpHttpApp, otlpDeps);
    }

    const scrapeManager = new ScrapeManager({
      appendable: tsdb,
      logger: root,
      registry,
      health: this.health,
      configDir: configDirOf(this.opts.configPath),
    });
    this.started.scrapeManager = scrapeManager;
    registerTargetsApi(this.app, { scrapeManager });

    const alertmanager = new AlertManagerService({
      dataDir,
      logger: root,
      registry,
      health: this.health,
      externalUrl: config.server.external_url ?? `http://${config.server.listen}`,
    });
    this.started.alertmanager = alertmanager;
    await alertmanager.applyConfig(sections.alerting);
    registerAlertmanagerApi(this.app, { service: alertmanager, version: VERSION });

    const rules = new RuleManager({
      engine,
      queryable: tsdb,
      appendable: tsdb,
      alertSink: alertmanager,
      logger: root,
      registry,
      health: this.health,
      externalLabels: config.global.external_labels,
      externalUrl: config.server.external_url ?? `http://${config.server.listen}`,
    });
    this.started.rules = rules;
    await rules.update(sections.ruleGroups);
    registerRulesApi(this.app, { ruleManager: rules });

    await this.startSignalPillars(config, dataDir, tsdb, rules);
  }

  /** Logs, traces and errors: one embedded signal store, their ingestion routes and query APIs. */
  private async startSignalPillars(config: Config, dataDir: string, tsdb: Tsdb, rules: RuleManager): Promise<void> {
    const root = this.opts.logger;
    const registry = this.metrics.registry;
    const retention = config.storage.retention;
    const signals = await openSignalStore({
      dir: join(dataDir, 'signals'),
      logger: root,
      registry,
      health: this.health,
      retention: { logsMs: retention.logs, tracesMs: retention.traces, errorsMs: retention.errors },
    });
    this.started.signals = signals;
    const otlpApp = this.started.otlpHttpApp;
    const appsWithOtlp = otlpApp ? [this.app, otlpApp] : [this.app];

    // Logs.
    registerLogIngestRoutes(this.app, { logs: signals.logs, registry, maxDecompressedBytes: config.server.max_body_bytes * 4 });
    const logsReceiver = new OtlpLogsReceiver({ logs: signals.logs, registry });
    for (const app of appsWithOtlp) registerOtlpLogsRoutes(app, { logs: signals.logs, registry, receiver: logsReceiver });
    this.grpcServices.push(otlpLogsGrpcService({ receiver: logsReceiver, logger: root }));
    await registerLokiApi(this.app, { logs: signals.logs });

    // Errors.
    const errorStore = await DuckDBErrorStore.open(signals, { retentionMs: retention.errors });
    const traceStore = await DuckDBTraceStore.open(signals, { retentionMs: retention.traces });
    const errorIngestor = new ErrorIngestor({
      store: errorStore,
      registry,
      logger: root.child({ component: 'errors' }),
      appendSpans: (spans) => traceStore.append(spans),
    });
    errorIngestor.onIssueEvent((kind, issue, event) => this.raiseIssueAlert(rules, kind, issue, event));
    registerSentryIngestRoutes(this.app, {
      ingestor: errorIngestor,
      projects: () => this.projects,
      rateLimiter: new ProjectRateLimiter(),
      maxDecodedBytes: config.server.max_body_bytes,
    });
    registerErrorsApi(this.app, { store: errorStore, projects: () => this.projects, externalUrl: () => this.config.server.external_url ?? this.url });
    const otelExceptions = new OtelExceptionCollector({ ingestor: errorIngestor, projects: () => this.projects, logger: root.child({ component: 'errors' }), registry });

    // Traces.
    const sm = config.traces.span_metrics;
    const spanMetrics = sm.enabled
      ? new SpanMetricsGenerator({
          appendable: tsdb,
          logger: root,
          registry,
          flushIntervalMs: sm.flush_interval,
          serviceGraphWaitMs: sm.service_graph_wait,
          serviceGraphMaxItems: sm.service_graph_max_items,
          maxSeries: sm.max_series,
        })
      : null;
    spanMetrics?.start();
    this.started.spanMetrics = spanMetrics;
    const tracesReceiver = new OtlpTracesReceiver({
      store: traceStore,
      logger: root,
      registry,
      spanMetrics,
      storedObservers: [otelExceptions],
      ...(config.traces.request_id_attribute ? { requestIdAttribute: config.traces.request_id_attribute } : {}),
      sampling: { defaultRate: config.traces.sampling.default_rate, perService: config.traces.sampling.services },
    });
    for (const app of appsWithOtlp) registerOtlpTracesRoutes(app, { store: traceStore, logger: root, registry, receiver: tracesReceiver });
    this.grpcServices.push(otlpTracesGrpcService({ receiver: tracesReceiver, logger: root }));
    registerTempoApi(this.app, { traces: traceStore, logs: signals.logs });
  }

  /**
   * A new error issue or a regression enters the alerting pipeline like any alert. It is an event,
   * not a lasting condition, so it carries an end time: receivers with send_resolved see it resolve.
   */
  private raiseIssueAlert(rules: RuleManager, kind: IssueEventKind, issue: Issue, event: ErrorEvent): void {
    const project = this.projects.get(issue.projectId);
    const now = Date.now();
    const base = this.config.server.external_url ?? this.url;
    rules.raiseExternalAlert(
      {
        labels: {
          alertname: kind === 'new' ? 'NewErrorIssue' : 'ErrorIssueRegression',
          project: project?.name ?? String(issue.projectId),
          level: issue.level,
          issue_id: String(issue.id),
          ...(event.environment ? { environment: event.environment } : {}),
          ...(event.release ? { release: event.release } : {}),
        },
        annotations: {
          summary: issue.title,
          ...(issue.culprit ? { description: issue.culprit } : {}),
        },
        endsAt: now + ISSUE_ALERT_DURATION_MS,
        generatorURL: `${base}/api/v1/issues/${issue.id}`,
      },
    );
  }

  /** Binds every listener; the main one first, so its address is known to the self-scrape. */
  private async listenAll(config: Config): Promise<void> {
    const main = parseListenAddress(config.server.listen);
    const port = await listen(this.app, 'the HTTP API and UI', main);
    this.url = urlFor(main.host, port);
    const otlpApp = this.started.otlpHttpApp;
    if (otlpApp) {
      const address = parseListenAddress(config.server.otlp_http.listen);
      this.otlpHttpUrl = urlFor(address.host, await listen(otlpApp, 'OTLP/HTTP', address));
    }
    if (config.server.otlp_grpc.enabled && this.started.tsdb) {
      const where = config.server.otlp_grpc.listen;
      try {
        this.started.otlpGrpc = await startOtlpGrpcServer({
          listen: where,
          appendable: this.started.tsdb,
          logger: this.opts.logger,
          registry: this.metrics.registry,
          accessControl: () => this.accessControl,
          services: this.grpcServices,
        });
      } catch (err) {
        const inUse = /EADDRINUSE|address already in use/i.test((err as Error).message);
        throw new StartupError(`cannot listen on ${where} for OTLP/gRPC: ${inUse ? 'the address is already in use' : (err as Error).message}`);
      }
      const address = parseListenAddress(where);
      this.otlpGrpcAddress = `${address.host}:${this.started.otlpGrpc.port}`;
    }
  }

  /** Starts every component and listener; rejects with a StartupError that says what went wrong. */
  static async start(opts: StartOptions): Promise<Watchkeeper> {
    const wk = new Watchkeeper(opts);
    await wk.run();
    return wk;
  }

  private checkExposure(config: Config): void {
    const main = parseListenAddress(config.server.listen);
    const exposed = [main.host];
    if (config.server.otlp_http.enabled) exposed.push(parseListenAddress(config.server.otlp_http.listen).host);
    if (config.server.otlp_grpc.enabled) exposed.push(parseListenAddress(config.server.otlp_grpc.listen).host);
    const open = exposed.filter((h) => !isLoopback(h));
    if (open.length === 0 || config.auth.tokens.length > 0) return;
    if (this.opts.insecure || config.server.insecure) {
      this.logger.warn({ hosts: open }, 'listening on a non-loopback address WITHOUT access tokens (--insecure): anyone who can reach it can read and write all data');
      return;
    }
    throw new StartupError(
      `refusing to listen on ${open.join(', ')} without access tokens: configure auth.tokens (see "watchkeeper token create") or pass --insecure`,
    );
  }

  private async run(): Promise<void> {
    const config = this.config;
    this.checkExposure(config);
    const dataDir = resolve(config.storage.data_dir);
    await mkdir(dataDir, { recursive: true });
    try {
      this.releaseLock = await lockDirectory(dataDir);
    } catch (err) {
      if (err instanceof DirectoryLockedError) throw new StartupError(err.message);
      throw err;
    }
    this.metrics.configReloadSuccess.set(1);
    this.metrics.configReloadTime.set(Date.now() / 1000);
    try {
      const sections = await resolveSections(config, this.opts.configPath);
      await this.startComponents(config, sections, dataDir);
      await this.listenAll(config);
      this.applyScrapeConfig(config);
      this.started.rules?.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.logger.info({ url: this.url, data_dir: dataDir, version: VERSION }, 'Watchkeeper is ready');
  }

  /** URLs the process serves, for the startup banner. */
  servedUrls(): Record<string, string> {
    const urls: Record<string, string> = {
      'UI and APIs': this.url,
      'Prometheus API': `${this.url}/api/v1/query`,
      'remote_write': `${this.url}/api/v1/write`,
      'self metrics': `${this.url}/metrics`,
      health: `${this.url}/healthz`,
    };
    if (this.otlpHttpUrl) urls['OTLP/HTTP'] = this.otlpHttpUrl;
    if (this.otlpGrpcAddress) urls['OTLP/gRPC'] = this.otlpGrpcAddress;
    return urls;
  }

  /**
   * Re-reads the configuration file. An invalid file keeps the running configuration and returns its
   * problems. Listener addresses and the data directory take effect only after a restart.
   */
  async reload(): Promise<readonly string[]> {
    if (this.opts.configPath === null) {
      this.recordReload(true);
      return [];
    }
    let next: Config;
    let sections: ResolvedSections;
    try {
      next = await loadConfigFile(this.opts.configPath);
      sections = await resolveSections(next, this.opts.configPath);
      if (next.auth.tokens.length === 0 && this.accessControl.enabled) {
        const main = parseListenAddress(this.config.server.listen);
        if (!isLoopback(main.host) && !(this.opts.insecure || this.config.server.insecure)) {
          throw new ConfigError([`${this.opts.configPath}: removing every access token is not allowed while listening on ${main.host}`]);
        }
      }
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      this.recordReload(false);
      this.logger.error({ problems }, 'configuration reload failed; keeping the running configuration');
      return problems;
    }
    const restartNeeded = ['listen', 'otlp_http', 'otlp_grpc'].filter(
      (k) => JSON.stringify(next.server[k as keyof Config['server']]) !== JSON.stringify(this.config.server[k as keyof Config['server']]),
    );
    if (next.storage.data_dir !== this.config.storage.data_dir) restartNeeded.push('storage.data_dir');
    if (restartNeeded.length > 0) this.logger.warn({ options: restartNeeded }, 'these options change only after a restart');
    this.config = next;
    this.accessControl = this.buildAccessControl(next);
    this.projects = new ProjectRegistry(next.projects);
    this.applyScrapeConfig(next);
    await this.started.alertmanager?.applyConfig(sections.alerting);
    await this.started.rules?.update(sections.ruleGroups);
    this.logger.level = next.log.level;
    this.recordReload(true);
    this.logger.info({ file: this.opts.configPath }, 'configuration reloaded');
    return [];
  }

  private recordReload(ok: boolean): void {
    this.metrics.configReloadSuccess.set(ok ? 1 : 0);
    this.metrics.configReloads.inc({ result: ok ? 'success' : 'failure' });
    if (ok) this.metrics.configReloadTime.set(Date.now() / 1000);
  }

  /**
   * Graceful stop: readiness turns 503, listeners stop accepting, in-flight requests finish within
   * server.shutdown_timeout, then storage is flushed and closed. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.health.markShuttingDown();
    const timeoutMs = this.config.server.shutdown_timeout;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
      timer.unref();
    });
    // Producers stop before the listeners and storage close: scrapes first, rules and span metrics after in-flight requests.
    await this.started.scrapeManager?.stop();
    const apps = [this.app, this.started.otlpHttpApp].filter((a): a is FastifyInstance => a !== null);
    const closing = Promise.all([...apps.map((a) => a.close()), this.started.otlpGrpc?.close()]);
    const closed = await Promise.race([closing.then(() => 'closed' as const), deadline]);
    clearTimeout(timer);
    if (closed === 'timeout') {
      this.logger.warn({ timeout_ms: timeoutMs }, 'in-flight requests did not finish in time; closing their connections');
      for (const a of apps) a.server.closeAllConnections();
    }
    await this.started.rules?.stop();
    await this.started.alertmanager?.stop();
    await this.started.spanMetrics?.stop();
    await this.started.signals?.close();
    await this.started.tsdb?.close();
    await this.releaseLock?.();
    this.releaseLock = null;
    this.logger.info('Watchkeeper stopped');
  }
}
