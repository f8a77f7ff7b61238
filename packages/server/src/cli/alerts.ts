/**
 * `watchkeeper alerts route --config FILE label=value...`: the routing dry run. FILE is an
 * Alertmanager configuration or a watchkeeper.yaml with an `alerting:` section; the output is the
 * receivers reached, comma-separated on one line, in the order `amtool config routes test` prints.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { AlertingConfigError, loadAlertingSection, parseAlertmanagerYaml, type AmConfig } from '../alerting/config/am-config.js';
import { buildRouteTree } from '../alerting/route.js';
import { parseAmMatcher } from '../alerting/am-matchers.js';
import { labelsFromRecord } from '../model/labels.js';

const USAGE = 'Usage: watchkeeper alerts route --config FILE label=value...';

/** Parses `name=value` (the value optionally double-quoted) with Alertmanager's matcher parser, as amtool does. */
function parseLabelArg(arg: string): [string, string] | string {
  try {
    const m = parseAmMatcher(arg);
    if (m.type !== '=') return `bad label ${JSON.stringify(arg)}: expected name=value`;
    return [m.name, m.value];
  } catch (e) {
    return `bad label ${JSON.stringify(arg)}: ${(e as Error).message}`;
  }
}

/** Loads FILE as an Alertmanager configuration, or as watchkeeper.yaml's `alerting:` section. */
function loadRoutingConfig(file: string): AmConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AlertingConfigError([`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  let top: unknown;
  try {
    top = parse(text);
  } catch {
    top = null;
  }
  if (top !== null && typeof top === 'object' && !Array.isArray(top) && !('route' in top) && 'alerting' in top) {
    const section = (top as Record<string, unknown>).alerting;
    if (section === null || typeof section !== 'object' || Array.isArray(section)) {
      throw new AlertingConfigError([`${file}: alerting: expected a mapping`]);
    }
    return loadAlertingSection(section as Record<string, unknown>, file);
  }
  return parseAlertmanagerYaml(text, file);
}

/** Runs `watchkeeper alerts ...`; resolves to the exit code. */
export async function runAlertsCli(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'route') {
    err.write(`${USAGE}\n`);
    return 2;
  }
  let values: { config?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: { config: { type: 'string' } }, allowPositionals: true, strict: true }));
  } catch (e) {
    err.write(`watchkeeper alerts route: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!values.config) {
    err.write(`watchkeeper alerts route: --config FILE is required\n${USAGE}\n`);
    return 2;
  }
  const record: Record<string, string> = {};
  for (const arg of positionals) {
    const parsed = parseLabelArg(arg);
    if (typeof parsed === 'string') {
      err.write(`watchkeeper alerts route: ${parsed}\n`);
      return 2;
    }
    record[parsed[0]] = parsed[1];
  }
  let config: AmConfig;
  try {
    config = loadRoutingConfig(values.config);
  } catch (e) {
    if (e instanceof AlertingConfigError) {
      err.write(`watchkeeper alerts route: invalid configuration:\n${e.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 1;
    }
    throw e;
  }
  const receivers = buildRouteTree(config.route)
    .match(labelsFromRecord(record))
    .map((r) => r.opts.receiver);
  out.write(`${receivers.join(',')}\n`);
  return 0;
}
