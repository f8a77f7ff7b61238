/**
 * Health endpoints as Kubernetes probes and uptime checkers expect: liveness (the process answers),
 * readiness (every critical dependency check passes within the timeout) and a detailed view with
 * each component's status and latency plus CPU, memory, disk and event-loop lag.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { HealthCheckFn } from './options.js';

/** A check, critical (affects readiness) unless said otherwise. */
export type HealthCheck = HealthCheckFn | { check: HealthCheckFn; critical?: boolean };

/** Options of `health()`. */
export interface HealthOptions {
  checks?: Record<string, HealthCheck>;
  /** Time allowed to each check (milliseconds, default 2000); slower counts as failing. */
  timeoutMs?: number;
  /** Filesystem path whose free space is reported (default the working directory). */
  diskPath?: string;
}

/** One component's result. */
export interface ComponentStatus {
  status: 'ok' | 'failing';
  critical: boolean;
  latency_ms: number;
  details?: unknown;
  error?: string;
}

/** An HTTP answer: status code and JSON body. */
export interface HealthResponse {
  statusCode: number;
  body: Record<string, unknown>;
}

const TIMED_OUT = Symbol('timed out');

/** Runs the checks; one instance per `health()` call. */
export class HealthService {
  private readonly checks: [string, HealthCheckFn, boolean][];
  private readonly timeoutMs: number;
  private readonly diskPath: string;
  private readonly loopDelay: IntervalHistogram;
  private readonly startedMs = Date.now();

  constructor(opts: HealthOptions) {
    this.checks = Object.entries(opts.checks ?? {}).map(([name, c]) => (typeof c === 'function' ? [name, c, true] : [name, c.check, c.critical ?? true]));
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.diskPath = opts.diskPath ?? process.cwd();
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.loopDelay.enable();
  }

  /** Liveness: the event loop turns; always 200 while the process can answer. */
  live(): HealthResponse {
    return { statusCode: 200, body: { status: 'ok' } };
  }

  /** Readiness: 503 when a critical check fails or times out. */
  async ready(): Promise<HealthResponse> {
    const components = await this.runChecks();
    const failing = Object.entries(components).filter(([, c]) => c.critical && c.status === 'failing').map(([n]) => n);
    return { statusCode: failing.length === 0 ? 200 : 503, body: { status: failing.length === 0 ? 'ok' : 'failing', failing } };
  }

  /** The detailed view: components and system figures; 503 as readiness. */
  async detailed(): Promise<HealthResponse> {
    const components = await this.runChecks();
    const ok = Object.values(components).every((c) => !c.critical || c.status === 'ok');
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    let disk: Record<string, number | string>;
    try {
      const s = await statfs(this.diskPath);
      disk = { path: this.diskPath, free_bytes: s.bavail * s.bsize, total_bytes: s.blocks * s.bsize };
    } catch (e) {
      disk = { path: this.diskPath, error: String(e) };
    }
    return {
      statusCode: ok ? 200 : 503,
      body: {
        status: ok ? 'ok' : 'failing',
        uptime_seconds: (Date.now() - this.startedMs) / 1000,
        components,
        system: {
          cpu: { user_seconds: cpu.user / 1e6, system_seconds: cpu.system / 1e6, cores: cpus().length, load1: loadavg()[0] },
          memory: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed, heap_total_bytes: mem.heapTotal, system_free_bytes: freemem(), system_total_bytes: totalmem() },
          disk,
          event_loop_lag_ms: { mean: nsToMs(this.loopDelay.mean), p99: nsToMs(this.loopDelay.percentile(99)), max: nsToMs(this.loopDelay.max) },
        },
      },
    };
  }

  /** Stops the event-loop monitor. */
  close(): void {
    this.loopDelay.disable();
  }

  private async runChecks(): Promise<Record<string, ComponentStatus>> {
    const results = await Promise.all(this.checks.map(([name, fn, critical]) => this.runOne(fn, critical).then((r) => [name, r] as const)));
    return Object.fromEntries(results);
  }

  private async runOne(fn: HealthCheckFn, critical: boolean): Promise<ComponentStatus> {
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((r) => (timer = setTimeout(() => r(TIMED_OUT), this.timeoutMs)));
    try {
      const result = await Promise.race([Promise.resolve().then(fn), timeout]);
      const latency_ms = performance.now() - start;
      if (result === TIMED_OUT) return { status: 'failing', critical, latency_ms, error: `timed out after ${this.timeoutMs} ms` };
      if (result === false) return { status: 'failing', critical, latency_ms, error: 'check returned false' };
      return result === undefined || result === true ? { status: 'ok', critical, latency_ms } : { status: 'ok', critical, latency_ms, details: result };
    } catch (e) {
      return { status: 'failing', critical, latency_ms: performance.now() - start, error: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function nsToMs(ns: number): number {
  return Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0;
}
