/**
 * file_sd_configs: target groups read from JSON or YAML files (globs allowed in the file name),
 * re-read when a watched directory changes and every refresh_interval. A file that fails to read
 * or parse keeps its last good groups and logs the error, as Prometheus does.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ScrapeMetrics } from './scrape-metrics.js';
import type { TargetGroup } from './target.js';

const fileSchema = z.array(
  z
    .object({
      targets: z.array(z.string()),
      labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name like job or instance'), z.string()).nullish(),
    })
    .strict(),
);

export interface FileDiscoveryOptions {
  /** Absolute file names; `*`, `?` and `[...]` may appear in the last path element. */
  readonly patterns: readonly string[];
  readonly refreshIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: ScrapeMetrics;
  /** Receives every group of every file after a change. */
  readonly onUpdate: (groups: TargetGroup[]) => void;
}

/** Delay that coalesces bursts of file system events (an editor's write is several). */
const WATCH_DEBOUNCE_MS = 50;

export class FileDiscovery {
  private readonly options: FileDiscoveryOptions;
  private readonly groupsByFile = new Map<string, TargetGroup[]>();
  private readonly watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private stopped = false;
  private lastPublished = '';

  constructor(options: FileDiscoveryOptions) {
    this.options = options;
  }

  /** Reads the files once, then watches them. Resolves after the first read has been published. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped) return;
    for (const dir of new Set(this.options.patterns.map((p) => dirname(p)))) {
      try {
        const watcher = watch(dir, () => this.scheduleRefresh());
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch (err) {
        // The directory may not exist yet; polling picks the files up once it does.
        this.options.logger.debug({ err, dir }, 'cannot watch file_sd directory');
      }
    }
    this.pollTimer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs);
    this.pollTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.refresh(), WATCH_DEBOUNCE_MS);
  }

  /** Re-reads every matching file; concurrent calls coalesce into one more pass. */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.readAll();
      } while (this.refreshAgain && !this.stopped);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async readAll(): Promise<void> {
    const files = new Set<string>();
    for (const pattern of this.options.patterns) for (const file of await expandPattern(pattern)) files.add(file);
    for (const file of this.groupsByFile.keys()) if (!files.has(file)) this.groupsByFile.delete(file);
    for (const file of [...files].sort()) {
      try {
        this.groupsByFile.set(file, await readGroups(file));
      } catch (err) {
        this.options.metrics.fileSdReadErrors.inc();
        this.options.logger.error({ file, err: (err as Error).message }, 'cannot read file_sd file; keeping its last good targets');
      }
    }
    if (this.stopped) return;
    const groups = [...this.groupsByFile.values()].flat();
    const published = JSON.stringify(groups);
    if (published === this.lastPublished) return;
    this.lastPublished = published;
    this.options.onUpdate(groups);
  }
}

async function readGroups(file: string): Promise<TargetGroup[]> {
  const ext = extname(file).toLowerCase();
  if (ext !== '.json' && ext !== '.yml' && ext !== '.yaml') throw new Error('file_sd files must end in .json, .yml or .yaml');
  const text = await readFile(file, 'utf8');
  let data: unknown;
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`invalid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return [];
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`expected a list of {targets, labels}: ${issue.path.join('.') || 'top level'}: ${issue.message}`);
  }
  return parsed.data.map((g, i) => ({
    targets: g.targets,
    labels: { ...(g.labels ?? {}), __meta_filepath: file },
    source: `file:${file}:${i}`,
  }));
}

/** Files matching a pattern whose last path element may hold glob characters. */
async function expandPattern(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?[]/.test(name)) {
    // A deleted file removes its targets, as a glob that no longer matches does.
    return stat(pattern).then(
      () => [pattern],
      () => [],
    );
  }
  const re = globToRegExp(name);
  try {
    return (await readdir(dir)).filter((f) => re.test(f)).map((f) => `${dir}/${f}`);
  } catch {
    return [];
  }
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) source += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
