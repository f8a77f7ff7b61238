/** Shared setup for the TSDB's tests: options, a log-capturing logger, temp dirs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Logger } from '../../src/selfobs/logger.js';
import type { TsdbOptions } from '../../src/tsdb/tsdb.js';

export const HOUR = 3600_000;

/** A pino logger that keeps every line (level name and message) for assertions. */
export function capturingLogger(): { logger: Logger; lines: { level: string; msg: string; [k: string]: unknown }[] } {
  const lines: { level: string; msg: string }[] = [];
  const logger = pino(
    { level: 'info', formatters: { level: (label) => ({ level: label }) } },
    { write: (s: string) => void lines.push(JSON.parse(s) as { level: string; msg: string }) },
  );
  return { logger, lines };
}

export function testOptions(dir: string | undefined, extra: Partial<TsdbOptions> = {}): TsdbOptions {
  return {
    dir,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    blockDurationMs: 2 * HOUR,
    retentionMs: 15 * 24 * HOUR,
    retentionBytes: 0,
    outOfOrderWindowMs: 0,
    walSegmentBytes: 1 << 20,
    maxLabelNameLength: 1024,
    maxLabelValueLength: 4096,
    maxLabelsPerSeries: 64,
    maxSeriesPerRequest: 1_000_000,
    ...extra,
  };
}

/** Temp dirs removed by `cleanup()` (call it in afterAll). */
export function tempDirs(): { make(): string; cleanup(): void } {
  const dirs: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), 'wk-tsdb-'));
      dirs.push(d);
      return d;
    },
    cleanup() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
