/**
 * The schema of `watchkeeper.yaml`. Every option has a default, so an empty file (or none) is a
 * working configuration. Durations are written as text (`15s`) and parsed to milliseconds; sizes
 * as text (`32MiB`) or numbers and parsed to bytes. Unknown fields are errors, as in Prometheus.
 */
import { z } from 'zod';
import { parseByteSize, parseDuration } from './duration.js';
import { compileAnchoredRegex } from '../model/matchers.js';

const duration = (def: string) =>
  z
    .string({ invalid_type_error: 'expected a duration like 15s' })
    .default(def)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration like 15s' });
        return z.NEVER;
      }
      return ms;
    });

const optionalDuration = () =>
  z
    .string({ invalid_type_error: 'expected a duration like 15s' })
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const ms = parseDuration(text);
      if (ms === null) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration like 15s' });
        return z.NEVER;
      }
      return ms;
    });

const byteSize = (def: string) =>
  z
    .union([z.string(), z.number().int().nonnegative()], { errorMap: () => ({ message: 'expected a size like 32MiB or a number of bytes' }) })
    .default(def)
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const n = parseByteSize(v);
      if (n === null) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a size like 32MiB or a number of bytes' });
        return z.NEVER;
      }
      return n;
    });

const hostPort = (def: string) =>
  z
    .string()
    .default(def)
    .refine((s) => /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, {
      message: 'expected HOST:PORT like 127.0.0.1:9700',
    });

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name like job or instance');
const labelMap = z.record(labelName, z.string());

const listener = (def: string) =>
  z
    .object({
      enabled: z.boolean().default(true),
      listen: hostPort(def),
    })
    .strict()
    .default({});

export const scopeSchema = z.enum(['ingest', 'read', 'admin']);

const relabelAction = z.enum(['replace', 'keep', 'drop', 'labelmap', 'labeldrop', 'labelkeep', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal']);

export const relabelConfigSchema = z
  .object({
    source_labels: z.array(z.string()).default([]),
    separator: z.string().default(';'),
    target_label: z.string().default(''),
    regex: z
      .string()
      .default('(.*)')
      .refine(
        (r) => {
          try {
            // Same translation as at use, so RE2 syntax such as (?P<name>...) is accepted.
            compileAnchoredRegex(r);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'expected a valid regular expression' },
      ),
    modulus: z.number().int().positive().optional(),
    replacement: z.string().default('$1'),
    action: relabelAction.default('replace'),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.action === 'replace' || r.action === 'hashmod' || r.action === 'lowercase' || r.action === 'uppercase') && r.target_label === '') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['target_label'], message: `relabel action ${r.action} requires target_label` });
    }
    if (r.action === 'hashmod' && r.modulus === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['modulus'], message: 'relabel action hashmod requires modulus' });
    }
  });

export type RelabelConfig = z.output<typeof relabelConfigSchema>;

const basicAuth = z
  .object({ username: z.string(), password: z.string().optional(), password_file: z.string().optional() })
  .strict();

const tlsConfig = z
  .object({
    insecure_skip_verify: z.boolean().default(false),
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    server_name: z.string().optional(),
  })
  .strict();

export const scrapeConfigSchema = z
  .object({
    job_name: z.string().min(1, 'expected a non-empty job name'),
    scrape_interval: optionalDuration(),
    scrape_timeout: optionalDuration(),
    metrics_path: z.string().default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    params: z.record(z.array(z.string())).default({}),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    basic_auth: basicAuth.optional(),
    bearer_token: z.string().optional(),
    bearer_token_file: z.string().optional(),
    tls_config: tlsConfig.optional(),
    sample_limit: z.number().int().nonnegative().default(0),
    static_configs: z
      .array(z.object({ targets: z.array(z.string()).default([]), labels: labelMap.default({}) }).strict())
      .default([]),
    file_sd_configs: z
      .array(z.object({ files: z.array(z.string()).min(1), refresh_interval: duration('5m') }).strict())
      .default([]),
    relabel_configs: z.array(relabelConfigSchema).default([]),
    metric_relabel_configs: z.array(relabelConfigSchema).default([]),
  })
  .strict();

export type ScrapeConfigInput = z.output<typeof scrapeConfigSchema>;

/** A Sentry project: events authenticate with one of its public keys (the user part of its DSN). */
export const projectConfigSchema = z
  .object({
    id: z.number().int().positive('expected a positive project id'),
    name: z.string().min(1, 'expected a non-empty project name'),
    keys: z.array(z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected a public key of 8-64 letters, digits, _ or -')).default([]),
    /** Error events and transactions accepted per minute; 0 means no limit. */
    rate_limit_per_minute: z.number().int().nonnegative().default(0),
    /** Field names scrubbed in addition to the built-in ones (passwords, secrets, tokens, keys). */
    scrub_fields: z.array(z.string().min(1)).default([]),
    /** OpenTelemetry service names whose exception events and logs are grouped into this project (its name always matches). */
    services: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type ProjectConfig = z.output<typeof projectConfigSchema>;

export const configSchema = z
  .object({
    server: z
      .object({
        listen: hostPort('127.0.0.1:9700'),
        otlp_http: listener('127.0.0.1:4318'),
        otlp_grpc: listener('127.0.0.1:4317'),
        max_body_bytes: byteSize('32MiB'),
        shutdown_timeout: duration('10s'),
        /** Allow a non-loopback listener without tokens (logged as a warning). */
        insecure: z.boolean().default(false),
        /** External URL used in printed links and DSNs. */
        external_url: z.string().url().optional(),
      })
      .strict()
      .default({}),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({}),
    storage: z
      .object({
        data_dir: z.string().default('./data'),
        retention: z
          .object({
            metrics: duration('15d'),
            metrics_size: byteSize('0'),
            logs: duration('7d'),
            traces: duration('7d'),
            errors: duration('90d'),
          })
          .strict()
          .default({}),
        tsdb: z
          .object({
            block_duration: duration('2h'),
            out_of_order_window: duration('0s'),
            wal_segment_size: byteSize('128MiB'),
            max_label_name_length: z.number().int().positive().default(1024),
            max_label_value_length: z.number().int().positive().default(4096),
            max_labels_per_series: z.number().int().positive().default(64),
            max_series_per_request: z.number().int().positive().default(1_000_000),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    auth: z
      .object({
        tokens: z
          .array(
            z
              .object({
                name: z.string().min(1),
                token_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (the SHA-256 of the token)'),
                scopes: z.array(scopeSchema).min(1, 'expected at least one scope'),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({}),
    global: z
      .object({
        scrape_interval: duration('1m'),
        scrape_timeout: duration('10s'),
        evaluation_interval: duration('1m'),
        external_labels: labelMap.default({}),
      })
      .strict()
      .default({}),
    self_scrape: z
      .object({ enabled: z.boolean().default(true), interval: duration('15s') })
      .strict()
      .default({}),
    scrape_configs: z.array(scrapeConfigSchema).default([]),
    /** Prometheus rule files: globs relative to this file's directory. Checked by rules/rule-files.ts. */
    rule_files: z.array(z.string().min(1)).default([]),
    projects: z.array(projectConfigSchema).default([]),
    query: z
      .object({
        lookback_delta: duration('5m'),
        timeout: duration('2m'),
        max_samples: z.number().int().positive().default(50_000_000),
        max_concurrency: z.number().int().positive().default(20),
      })
      .strict()
      .default({}),
    traces: z
      .object({
        /** A span attribute carrying the request id, tried before http.request.header.x-request-id and request_id. */
        request_id_attribute: z.string().min(1).optional(),
        sampling: z
          .object({
            /** Fraction of traces kept (consistently by trace id) for services not listed. */
            default_rate: z.number().min(0).max(1).default(1),
            /** Fraction kept per service name. */
            services: z.record(z.number().min(0).max(1)).default({}),
          })
          .strict()
          .default({}),
        span_metrics: z
          .object({
            enabled: z.boolean().default(true),
            flush_interval: duration('15s'),
            /** How long a client or server span waits for its other half (service graph). */
            service_graph_wait: duration('10s'),
            service_graph_max_items: z.number().int().positive().default(10_000),
            max_series: z.number().int().positive().default(10_000),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    /**
     * Alertmanager configuration: inline (route, receivers, inhibit_rules, time_intervals, templates,
     * global) or `{ config_file: FILE }` relative to this file. Checked by alerting/config/am-config.ts,
     * which reports Alertmanager's errors with line numbers; kept as a passthrough here.
     */
    alerting: z.record(z.unknown()).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    const projectIds = new Set<number>();
    c.projects.forEach((p, i) => {
      if (projectIds.has(p.id)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['projects', i, 'id'], message: `duplicate project id ${p.id}` });
      projectIds.add(p.id);
    });
    c.scrape_configs.forEach((s, i) => {
      if (seen.has(s.job_name)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['scrape_configs', i, 'job_name'], message: `duplicate job name "${s.job_name}"` });
      }
      seen.add(s.job_name);
      const interval = s.scrape_interval ?? c.global.scrape_interval;
      const timeout = s.scrape_timeout ?? Math.min(c.global.scrape_timeout, interval);
      if (timeout > interval) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['scrape_configs', i, 'scrape_timeout'], message: 'scrape_timeout must not be greater than scrape_interval' });
      }
    });
  });

export type Config = z.output<typeof configSchema>;
