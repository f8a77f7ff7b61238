/**
 * Scrape targets: turning a discovered address plus labels into a target's final labels and URL,
 * as Prometheus's PopulateLabels does, and the health state the targets API reports.
 */
import { formatDuration, parseDuration } from '../config/duration.js';
import { labelsKey, type Label, type Labels } from '../model/labels.js';
import { relabel, type CompiledRelabelRule } from './relabel.js';

/** A group of targets from one source (a static_configs entry or one entry of a file_sd file). */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Stable identity of the group within its pool, e.g. `static/0` or `file:/etc/t.json/2`. */
  readonly source: string;
}

/** The per-job settings target labels are derived from. */
export interface TargetDefaults {
  readonly jobName: string;
  readonly scheme: string;
  readonly metricsPath: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly relabelRules: readonly CompiledRelabelRule[];
}

export const ADDRESS_LABEL = '__address__';
export const SCHEME_LABEL = '__scheme__';
export const METRICS_PATH_LABEL = '__metrics_path__';
export const SCRAPE_INTERVAL_LABEL = '__scrape_interval__';
export const SCRAPE_TIMEOUT_LABEL = '__scrape_timeout__';
export const PARAM_LABEL_PREFIX = '__param_';

export type TargetHealth = 'up' | 'down' | 'unknown';

/** A target that survived relabeling. Its scrape state is updated by its scrape loop. */
export class Target {
  /** Labels attached to every scraped series (no `__` labels), sorted. */
  readonly labels: Labels;
  /** Identity within a pool: equal keys mean the same target across discovery updates. */
  readonly key: string;
  health: TargetHealth = 'unknown';
  lastError = '';
  /** Start of the last scrape, ms since the epoch; 0 before the first. */
  lastScrapeMs = 0;
  lastScrapeDurationMs = 0;

  constructor(
    /** Labels before relabeling, as discovered. */
    readonly discoveredLabels: Labels,
    /** Labels after relabeling, including `__` labels. */
    readonly fullLabels: Labels,
    readonly url: string,
    readonly intervalMs: number,
    readonly timeoutMs: number,
  ) {
    this.labels = fullLabels.filter((l) => !l.name.startsWith('__'));
    this.key = `${labelsKey(fullLabels)}\u0000${url}`;
  }

  /** A hash of the identity, used to spread scrapes over the interval. */
  hash(): number {
    return fnv1a32(this.key);
  }
}

/** 32-bit FNV-1a over UTF-16 code units. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The outcome of populating one discovered target. */
export type PopulateResult =
  | { readonly kind: 'active'; readonly target: Target }
  | { readonly kind: 'dropped'; readonly discoveredLabels: Labels }
  | { readonly kind: 'invalid'; readonly discoveredLabels: Labels; readonly error: string };

function sorted(map: Map<string, string>): Label[] {
  const out: Label[] = [];
  for (const [name, value] of map) if (value !== '') out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Adds the scheme's default port when the address has none (Prometheus 2.x behaviour). */
function withPort(address: string, scheme: string): string {
  const hasPort = address.startsWith('[') ? /\]:\d+$/.test(address) : /:\d+$/.test(address) && address.indexOf(':') === address.lastIndexOf(':');
  if (hasPort) return address;
  if (!address.startsWith('[') && address.includes(':')) return `[${address}]:${scheme === 'https' ? 443 : 80}`;
  return `${address}:${scheme === 'https' ? 443 : 80}`;
}

/**
 * Derives a target from an address and its group's labels: job and scrape settings become `__`
 * labels, relabel rules run, `instance` defaults to the address, `__` labels are dropped.
 */
export function populateTarget(address: string, groupLabels: Readonly<Record<string, string>>, defaults: TargetDefaults): PopulateResult {
  const lb = new Map<string, string>();
  lb.set(ADDRESS_LABEL, address);
  for (const [name, value] of Object.entries(groupLabels)) if (!lb.has(name)) lb.set(name, value);
  const scrapeLabels: [string, string][] = [
    ['job', defaults.jobName],
    [SCRAPE_INTERVAL_LABEL, formatDuration(defaults.intervalMs)],
    [SCRAPE_TIMEOUT_LABEL, formatDuration(defaults.timeoutMs)],
    [METRICS_PATH_LABEL, defaults.metricsPath],
    [SCHEME_LABEL, defaults.scheme],
  ];
  for (const [name, value] of scrapeLabels) if (!lb.get(name)) lb.set(name, value);
  for (const [name, values] of Object.entries(defaults.params)) {
    const labelName = PARAM_LABEL_PREFIX + name;
    if (!lb.get(labelName) && values[0] !== undefined) lb.set(labelName, values[0]);
  }
  const discoveredLabels = sorted(lb);
  const relabeled = relabel(discoveredLabels, defaults.relabelRules);
  if (relabeled === null) return { kind: 'dropped', discoveredLabels };
  const out = new Map(relabeled.map((l) => [l.name, l.value]));
  const invalid = (error: string): PopulateResult => ({ kind: 'invalid', discoveredLabels, error });

  const rawAddress = out.get(ADDRESS_LABEL) ?? '';
  if (rawAddress === '') return invalid('no address');
  const scheme = out.get(SCHEME_LABEL) ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') return invalid(`invalid scheme ${JSON.stringify(scheme)}`);
  if (rawAddress.includes('/')) return invalid(`invalid address ${JSON.stringify(rawAddress)}: must be host:port without a path`);
  const addressWithPort = withPort(rawAddress, scheme);
  out.set(ADDRESS_LABEL, addressWithPort);

  const intervalMs = parseDuration(out.get(SCRAPE_INTERVAL_LABEL) ?? '');
  const timeoutMs = parseDuration(out.get(SCRAPE_TIMEOUT_LABEL) ?? '');
  if (intervalMs === null || intervalMs === 0) return invalid(`invalid scrape interval ${JSON.stringify(out.get(SCRAPE_INTERVAL_LABEL) ?? '')}`);
  if (timeoutMs === null || timeoutMs === 0) return invalid(`invalid scrape timeout ${JSON.stringify(out.get(SCRAPE_TIMEOUT_LABEL) ?? '')}`);
  if (timeoutMs > intervalMs) return invalid(`scrape timeout ${formatDuration(timeoutMs)} is greater than the scrape interval ${formatDuration(intervalMs)}`);

  for (const name of out.keys()) if (name.startsWith('__meta_')) out.delete(name);
  if (!out.get('instance')) out.set('instance', addressWithPort);
  const fullLabels = sorted(out);
  const target = new Target(discoveredLabels, fullLabels, buildUrl(scheme, addressWithPort, out, defaults.params), intervalMs, timeoutMs);
  return { kind: 'active', target };
}

/** The scrape URL: configured params, with `__param_<name>` labels replacing a param's first value. */
function buildUrl(scheme: string, address: string, labels: Map<string, string>, params: Readonly<Record<string, readonly string[]>>): string {
  const merged = new Map<string, string[]>();
  for (const [name, values] of Object.entries(params)) merged.set(name, [...values]);
  for (const [name, value] of labels) {
    if (!name.startsWith(PARAM_LABEL_PREFIX)) continue;
    const param = name.slice(PARAM_LABEL_PREFIX.length);
    const values = merged.get(param);
    if (values && values.length > 0) values[0] = value;
    else merged.set(param, [value]);
  }
  const search = new URLSearchParams();
  for (const [name, values] of [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) for (const v of values) search.append(name, v);
  let path = labels.get(METRICS_PATH_LABEL) ?? '/metrics';
  if (!path.startsWith('/')) path = `/${path}`;
  const query = search.toString();
  return `${scheme}://${address}${path}${query === '' ? '' : `?${query}`}`;
}
