/**
 * `watchkeeper projects [--config FILE] [--url URL]`: prints each configured Sentry project with
 * the DSN of each of its keys, built on `--url`, else `server.external_url`, else the listen
 * address. Exit codes: 0 printed, 2 bad arguments or configuration.
 */
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfig, loadConfigFile, type Config } from '../config/index.js';
import { formatDsn, ProjectRegistry } from '../errors/projects.js';

/** The base URL SDKs reach the server at, from the configuration. */
export function externalBaseUrl(config: Config): string {
  if (config.server.external_url) return config.server.external_url;
  const listen = config.server.listen;
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const reachable = host === '' || host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  return `http://${reachable}:${listen.slice(colon + 1)}`;
}

export async function runProjectsCli(args: string[], out: NodeJS.WritableStream): Promise<number> {
  let values: { config?: string; url?: string };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, url: { type: 'string' } }, strict: true }));
  } catch (err) {
    out.write(`watchkeeper projects: ${(err as Error).message}\nUsage: watchkeeper projects [--config FILE] [--url URL]\n`);
    return 2;
  }
  let config: Config;
  try {
    config = values.config ? await loadConfigFile(values.config) : defaultConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.write(`watchkeeper projects: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
    return 2;
  }
  let base = values.url ?? externalBaseUrl(config);
  try {
    base = new URL(base).toString();
  } catch {
    out.write(`watchkeeper projects: --url: expected a URL like http://errors.example.com:9700, got "${base}"\n`);
    return 2;
  }
  const projects = new ProjectRegistry(config.projects).list();
  if (projects.length === 0) {
    out.write('no projects configured: add a "projects:" section to the configuration, e.g.\nprojects:\n  - id: 1\n    name: shop\n    keys: [<public key>]\n');
    return 0;
  }
  for (const p of projects) {
    const limit = p.rateLimitPerMinute > 0 ? `, ${p.rateLimitPerMinute} events/min` : '';
    out.write(`${p.id}\t${p.name}${limit}\n`);
    if (p.keys.size === 0) out.write('\t(no keys: events are refused)\n');
    for (const key of p.keys) out.write(`\t${formatDsn(base, key, p.id)}\n`);
  }
  return 0;
}
