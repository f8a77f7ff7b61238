/**
 * Alertmanager configuration: parsing of Alertmanager's YAML (inline in watchkeeper.yaml or in its
 * own file) with Alertmanager's checks, each error naming the file, line and field:
 * `alertmanager.yml:14: route.routes[0].receiver: undefined receiver "pager" used in route`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, stringify, type Document } from 'yaml';
import { isLegacyLabelName } from '../../model/labels.js';
import { compileMatcher, MatcherError, type CompiledMatcher } from '../../model/matchers.js';
import { alertmanagerFunctions, TemplateError, TemplateSet } from '../../template/index.js';
import { parseAmMatchers } from '../am-matchers.js';
import { parseTimeInterval, type TimeInterval } from '../time-intervals.js';
import {
  ConfigProblem,
  readBool,
  readDuration,
  readList,
  readMap,
  readString,
  readStringList,
  readStringMap,
  type ConfigPath,
} from './config-reader.js';
import { parseGlobal, parseReceiver, type GlobalConfig, type ReceiverConfig } from './receivers-config.js';

/** A route as written; unset options inherit from the parent when the tree is built. */
export interface RouteConfig {
  readonly receiver: string | undefined;
  /** Undefined: inherit. */
  readonly groupBy: readonly string[] | undefined;
  readonly groupByAll: boolean;
  readonly groupWaitMs: number | undefined;
  readonly groupIntervalMs: number | undefined;
  readonly repeatIntervalMs: number | undefined;
  readonly matchers: readonly CompiledMatcher[];
  readonly continue: boolean;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly RouteConfig[];
}

export interface InhibitRuleConfig {
  readonly sourceMatchers: readonly CompiledMatcher[];
  readonly targetMatchers: readonly CompiledMatcher[];
  readonly equal: readonly string[];
}

/** A template source file given under `templates:`. */
export interface TemplateFile {
  readonly path: string;
  readonly text: string;
}

export interface AmConfig {
  readonly global: GlobalConfig;
  readonly route: RouteConfig;
  readonly inhibitRules: readonly InhibitRuleConfig[];
  readonly timeIntervals: ReadonlyMap<string, readonly TimeInterval[]>;
  readonly receivers: readonly ReceiverConfig[];
  readonly templateFiles: readonly TemplateFile[];
  /** The configuration as YAML with secrets replaced by `<secret>`, for GET /api/v2/status. */
  readonly original: string;
}

/** An invalid Alertmanager configuration; `problems` are complete messages with file and line. */
export class AlertingConfigError extends Error {
  override readonly name = 'AlertingConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

const TOP_FIELDS = ['global', 'route', 'inhibit_rules', 'receivers', 'templates', 'time_intervals', 'mute_time_intervals'];
const ROUTE_FIELDS = [
  'receiver', 'group_by', 'group_wait', 'group_interval', 'repeat_interval', 'match', 'match_re', 'matchers', 'continue', 'routes',
  'mute_time_intervals', 'active_time_intervals',
];

function parseMatcherList(v: unknown, path: ConfigPath): CompiledMatcher[] {
  const out: CompiledMatcher[] = [];
  readStringList(v, path).forEach((text, i) => {
    try {
      out.push(...parseAmMatchers(text));
    } catch (err) {
      if (err instanceof MatcherError) throw new ConfigProblem([...path, i], err.message);
      throw err;
    }
  });
  return out;
}

/** The older `match` / `match_re` maps as matchers (names must be label names). */
function parseLegacyMatch(raw: Record<string, unknown>, path: ConfigPath, eqKey: string, reKey: string): CompiledMatcher[] {
  const out: CompiledMatcher[] = [];
  for (const [key, type] of [
    [eqKey, '='],
    [reKey, '=~'],
  ] as const) {
    for (const [name, value] of Object.entries(readStringMap(raw[key], [...path, key]))) {
      if (!isLegacyLabelName(name)) throw new ConfigProblem([...path, key, name], `invalid label name ${JSON.stringify(name)}`);
      try {
        out.push(compileMatcher({ type, name, value }));
      } catch (err) {
        if (err instanceof MatcherError) throw new ConfigProblem([...path, key, name], err.message);
        throw err;
      }
    }
  }
  return out;
}

function parseRoute(v: unknown, path: ConfigPath): RouteConfig {
  const raw = readMap(v, path, ROUTE_FIELDS);
  let groupBy: string[] | undefined;
  let groupByAll = false;
  if (raw.group_by !== undefined && raw.group_by !== null) {
    const names = readStringList(raw.group_by, [...path, 'group_by']);
    groupBy = [];
    const seen = new Set<string>();
    names.forEach((name, i) => {
      const p = [...path, 'group_by', i];
      if (name === '...') {
        groupByAll = true;
        return;
      }
      if (!isLegacyLabelName(name)) throw new ConfigProblem(p, `invalid label name ${JSON.stringify(name)} in group_by list`);
      if (seen.has(name)) throw new ConfigProblem(p, `duplicated label ${JSON.stringify(name)} in group_by`);
      seen.add(name);
      groupBy!.push(name);
    });
    if (groupByAll && names.length > 1) throw new ConfigProblem([...path, 'group_by'], 'cannot have wildcard group_by (`...`) and other other labels at the same time');
  }
  const groupIntervalMs = readDuration(raw.group_interval, [...path, 'group_interval']);
  if (groupIntervalMs === 0) throw new ConfigProblem([...path, 'group_interval'], 'group_interval cannot be zero');
  const repeatIntervalMs = readDuration(raw.repeat_interval, [...path, 'repeat_interval']);
  if (repeatIntervalMs === 0) throw new ConfigProblem([...path, 'repeat_interval'], 'repeat_interval cannot be zero');
  const matchers = [...parseLegacyMatch(raw, path, 'match', 'match_re'), ...parseMatcherList(raw.matchers, [...path, 'matchers'])];
  return {
    receiver: readString(raw.receiver, [...path, 'receiver']),
    groupBy,
    groupByAll,
    groupWaitMs: readDuration(raw.group_wait, [...path, 'group_wait']),
    groupIntervalMs,
    repeatIntervalMs,
    matchers,
    continue: readBool(raw.continue, [...path, 'continue']) ?? false,
    muteTimeIntervals: readStringList(raw.mute_time_intervals, [...path, 'mute_time_intervals']),
    activeTimeIntervals: readStringList(raw.active_time_intervals, [...path, 'active_time_intervals']),
    routes: readList(raw.routes, [...path, 'routes']).map((r, i) => parseRoute(r, [...path, 'routes', i])),
  };
}

function parseInhibitRule(v: unknown, path: ConfigPath): InhibitRuleConfig {
  const raw = readMap(v, path, ['source_match', 'source_match_re', 'source_matchers', 'target_match', 'target_match_re', 'target_matchers', 'equal']);
  const equal = readStringList(raw.equal, [...path, 'equal']);
  equal.forEach((name, i) => {
    if (!isLegacyLabelName(name)) throw new ConfigProblem([...path, 'equal', i], `invalid label name ${JSON.stringify(name)}`);
  });
  return {
    sourceMatchers: [...parseLegacyMatch(raw, path, 'source_match', 'source_match_re'), ...parseMatcherList(raw.source_matchers, [...path, 'source_matchers'])],
    targetMatchers: [...parseLegacyMatch(raw, path, 'target_match', 'target_match_re'), ...parseMatcherList(raw.target_matchers, [...path, 'target_matchers'])],
    equal,
  };
}

function checkRoutes(route: RouteConfig, path: ConfigPath, receivers: ReadonlySet<string>, intervals: ReadonlyMap<string, unknown>): void {
  if (route.receiver !== undefined && !receivers.has(route.receiver)) {
    throw new ConfigProblem([...path, 'receiver'], `undefined receiver ${JSON.stringify(route.receiver)} used in route`);
  }
  for (const key of ['mute_time_intervals', 'active_time_intervals'] as const) {
    const names = key === 'mute_time_intervals' ? route.muteTimeIntervals : route.activeTimeIntervals;
    names.forEach((name, i) => {
      if (!intervals.has(name)) throw new ConfigProblem([...path, key, i], `undefined time interval ${JSON.stringify(name)} used in route`);
    });
  }
  route.routes.forEach((r, i) => checkRoutes(r, [...path, 'routes', i], receivers, intervals));
}

/** Expands `templates:` globs (a `*` in the file name part), relative to the configuration's folder. */
function readTemplateFiles(patterns: readonly string[], path: ConfigPath, baseDir: string): TemplateFile[] {
  const files: TemplateFile[] = [];
  patterns.forEach((pattern, i) => {
    const full = resolve(baseDir, pattern);
    const dir = dirname(full);
    const namePattern = basename(full);
    let names: string[];
    if (/[*?[]/.test(namePattern)) {
      const re = new RegExp(`^${namePattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
      try {
        names = readdirSync(dir).filter((n) => re.test(n)).sort();
      } catch {
        names = [];
      }
    } else names = [namePattern];
    for (const name of names) {
      const file = resolve(dir, name);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigProblem([...path, i], `cannot read template file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      try {
        new TemplateSet(alertmanagerFunctions(() => 0)).parse(file, text);
      } catch (err) {
        if (err instanceof TemplateError) throw new ConfigProblem([...path, i], err.message);
        throw err;
      }
      files.push({ path: file, text });
    }
  });
  return files;
}

/** Fields holding secrets anywhere in the configuration, and URL fields that embed secrets in some receivers. */
const SECRET_FIELDS = new Set(['password', 'auth_password', 'smtp_auth_password', 'auth_secret', 'smtp_auth_secret', 'routing_key', 'service_key', 'bearer_token', 'credentials', 'slack_api_url']);
const SECRET_URL_FIELDS: Record<string, string> = { slack_configs: 'api_url', webhook_configs: 'url' };

/** A copy with secrets replaced by `<secret>`, as Alertmanager shows its configuration. */
function redactSecrets(value: unknown, listKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, listKey));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = SECRET_FIELDS.has(k) || SECRET_URL_FIELDS[listKey] === k;
    out[k] = secret && v !== null && v !== undefined ? '<secret>' : redactSecrets(v, k);
  }
  return out;
}

/** Builds the configuration from a plain value (YAML already parsed). Throws ConfigProblem. */
export function buildAmConfig(value: unknown, baseDir: string): AmConfig {
  const raw = readMap(value, [], TOP_FIELDS);
  const global = parseGlobal(raw.global, ['global'], baseDir, readDuration);
  if (raw.route === undefined || raw.route === null) throw new ConfigProblem([], 'no route provided in config');
  const route = parseRoute(raw.route, ['route']);
  if (!route.receiver) throw new ConfigProblem(['route'], 'root route must specify a default receiver');
  if (route.matchers.length > 0) throw new ConfigProblem(['route'], 'root route must not have any matchers');
  if (route.continue) throw new ConfigProblem(['route', 'continue'], 'cannot have continue in root route');
  if (route.muteTimeIntervals.length > 0) throw new ConfigProblem(['route', 'mute_time_intervals'], 'root route must not have any mute time intervals');
  if (route.activeTimeIntervals.length > 0) throw new ConfigProblem(['route', 'active_time_intervals'], 'root route must not have any active time intervals');

  const receivers = readList(raw.receivers, ['receivers']).map((r, i) => parseReceiver(r, ['receivers', i], global, baseDir));
  const names = new Set<string>();
  receivers.forEach((r, i) => {
    if (names.has(r.name)) throw new ConfigProblem(['receivers', i, 'name'], `notification config name ${JSON.stringify(r.name)} is not unique`);
    names.add(r.name);
  });

  const timeIntervals = new Map<string, TimeInterval[]>();
  for (const key of ['time_intervals', 'mute_time_intervals']) {
    readList(raw[key], [key]).forEach((entry, i) => {
      const p = [key, i];
      const ti = readMap(entry, p, ['name', 'time_intervals']);
      const name = readString(ti.name, [...p, 'name']);
      if (!name) throw new ConfigProblem(p, 'missing name in time interval');
      if (timeIntervals.has(name)) throw new ConfigProblem([...p, 'name'], `time interval ${JSON.stringify(name)} is not unique`);
      timeIntervals.set(name, readList(ti.time_intervals, [...p, 'time_intervals']).map((t, j) => parseTimeInterval(t, [...p, 'time_intervals', j])));
    });
  }
  checkRoutes(route, ['route'], names, timeIntervals);

  return {
    global,
    route,
    inhibitRules: readList(raw.inhibit_rules, ['inhibit_rules']).map((r, i) => parseInhibitRule(r, ['inhibit_rules', i])),
    timeIntervals,
    receivers,
    templateFiles: readTemplateFiles(readStringList(raw.templates, ['templates']), ['templates'], baseDir),
    original: stringify(redactSecrets(value)),
  };
}

/** The line of the value at `path`, or of its key when it is a mapping entry (closest existing ancestor otherwise). */
function lineOf(doc: Document, lines: LineCounter, path: ConfigPath): number | null {
  for (let n = path.length; n >= 0; n--) {
    const last = path[n - 1];
    if (typeof last === 'string') {
      const parent = doc.getIn(path.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === last);
        if (pair && isNode(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
      }
    }
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return null;
}

function parseYaml(text: string, fileName: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new AlertingConfigError(doc.errors.map((e) => `${fileName}:${lines.linePos(e.pos[0]).line}: invalid YAML: ${e.message.split('\n')[0]}`));
  }
  return { doc, lines };
}

/** Runs `build`, turning a ConfigProblem into an AlertingConfigError with file and line. */
function located<T>(fileName: string, doc: Document, lines: LineCounter, prefix: ConfigPath, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof ConfigProblem)) throw err;
    const line = lineOf(doc, lines, [...prefix, ...err.path]);
    throw new AlertingConfigError([`${fileName}${line !== null ? `:${line}` : ''}: ${err.message}`]);
  }
}

/** Parses an Alertmanager configuration file's text. `fileName` locates errors and relative paths. */
export function parseAlertmanagerYaml(text: string, fileName: string): AmConfig {
  const { doc, lines } = parseYaml(text, fileName);
  return located(fileName, doc, lines, [], () => buildAmConfig(doc.toJS() ?? {}, dirname(resolve(fileName))));
}

/** Reads and parses an Alertmanager configuration file. */
export function loadAlertmanagerFile(path: string): AmConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AlertingConfigError([`${path}: cannot read Alertmanager configuration: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseAlertmanagerYaml(text, path);
}

/**
 * Resolves the `alerting:` section of watchkeeper.yaml: either `{ config_file: FILE }` (relative to
 * the configuration file) or an inline Alertmanager configuration. `configPath` (null when running on
 * defaults) gives line numbers and the base folder.
 */
export function loadAlertingSection(section: Readonly<Record<string, unknown>>, configPath: string | null): AmConfig {
  const fileName = configPath ?? 'watchkeeper.yaml';
  const baseDir = configPath ? dirname(resolve(configPath)) : process.cwd();
  if ('config_file' in section) {
    const extra = Object.keys(section).filter((k) => k !== 'config_file');
    if (extra.length > 0) throw new AlertingConfigError([`${fileName}: alerting: config_file cannot be combined with inline configuration (${extra.join(', ')})`]);
    const file = section.config_file;
    if (typeof file !== 'string' || file === '') throw new AlertingConfigError([`${fileName}: alerting.config_file: expected a file name`]);
    return loadAlertmanagerFile(resolve(baseDir, file));
  }
  let text = '';
  if (configPath) {
    try {
      text = readFileSync(configPath, 'utf8');
    } catch {
      text = '';
    }
  }
  const { doc, lines } = parseYaml(text, fileName);
  return located(fileName, doc, lines, ['alerting'], () => buildAmConfig(section, baseDir));
}
