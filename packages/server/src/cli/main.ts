#!/usr/bin/env node
/**
 * The `watchkeeper` command: start, check-config, token create, promqltest, --version.
 * Environment variables WATCHKEEPER_CONFIG, WATCHKEEPER_DATA_DIR and WATCHKEEPER_LISTEN stand in for
 * --config, --data-dir and --listen; flags win over the environment.
 */
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfig, loadConfigFile, type Config } from '../config/index.js';
import { createToken, type Scope } from '../api/auth.js';
import { createLogger } from '../selfobs/logger.js';
import { resolveSections, StartupError, Watchkeeper } from '../main.js';
import { VERSION } from '../version.js';
import { stringify } from 'yaml';

const USAGE = `Usage: watchkeeper <command> [options]

Commands:
  start [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--insecure]
                         start the platform (default: 127.0.0.1:9700, data in ./data)
  check-config FILE      validate a configuration file; exits non-zero on errors
  token create --name NAME --scopes ingest,read,admin
                         print a new access token and its configuration entry
  promqltest FILE...     run PromQL test scripts (Prometheus's test language)
  alerts route --config FILE label=value...
                         print the receivers an alert with these labels reaches (like amtool)
  projects [--config FILE]
                         print each error-tracking project's DSN
  --version              print the version

Environment: WATCHKEEPER_CONFIG, WATCHKEEPER_DATA_DIR, WATCHKEEPER_LISTEN.`;

const SCOPES: readonly Scope[] = ['ingest', 'read', 'admin'];

function reportInvalidConfig(err: ConfigError): number {
  process.stderr.write(`watchkeeper: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
  return 2;
}

async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      insecure: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const configPath = values.config ?? process.env.WATCHKEEPER_CONFIG ?? null;
  let config: Config;
  try {
    config = configPath ? await loadConfigFile(configPath) : defaultConfig();
  } catch (err) {
    if (err instanceof ConfigError) return reportInvalidConfig(err);
    throw err;
  }
  const dataDir = values['data-dir'] ?? process.env.WATCHKEEPER_DATA_DIR;
  if (dataDir) config.storage.data_dir = dataDir;
  const listen = values.listen ?? process.env.WATCHKEEPER_LISTEN;
  if (listen) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/.test(listen)) {
      process.stderr.write(`watchkeeper: --listen: expected HOST:PORT like 127.0.0.1:9700, got "${listen}"\n`);
      return 2;
    }
    config.server.listen = listen;
  }

  const logger = createLogger(config.log.level);
  let wk: Watchkeeper;
  try {
    wk = await Watchkeeper.start({ config, configPath, logger, insecure: values.insecure });
  } catch (err) {
    if (err instanceof ConfigError) return reportInvalidConfig(err);
    const message = err instanceof StartupError ? err.message : (err as Error).stack ?? String(err);
    logger.fatal({ err: err instanceof StartupError ? undefined : err }, message);
    process.stderr.write(`watchkeeper: ${message}\n`);
    logger.flush();
    return 1;
  }
  process.stderr.write(
    `Watchkeeper ${VERSION} is running.\n${Object.entries(wk.servedUrls())
      .map(([what, url]) => `  ${what.padEnd(22)} ${url}`)
      .join('\n')}\n`,
  );

  let signals = 0;
  const onStopSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    logger.info({ signal }, 'shutting down');
    wk.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGHUP', () => void wk.reload());
  return new Promise<number>(() => {});
}

async function checkConfigCommand(args: string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('Usage: watchkeeper check-config FILE\n');
    return 2;
  }
  try {
    await resolveSections(await loadConfigFile(file), file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.problems.join('\n')}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`${file}: configuration is valid\n`);
  return 0;
}

function tokenCommand(args: string[]): number {
  if (args[0] !== 'create') {
    process.stderr.write('Usage: watchkeeper token create --name NAME --scopes ingest,read,admin\n');
    return 2;
  }
  const { values } = parseArgs({ args: args.slice(1), options: { name: { type: 'string' }, scopes: { type: 'string' } }, strict: true });
  const scopes = (values.scopes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = scopes.filter((s) => !SCOPES.includes(s as Scope));
  if (!values.name || scopes.length === 0 || bad.length > 0) {
    process.stderr.write(
      `watchkeeper token create: ${!values.name ? '--name is required' : bad.length ? `unknown scope ${bad.join(', ')} (expected ${SCOPES.join(', ')})` : '--scopes is required'}\n`,
    );
    return 2;
  }
  const { token, entry } = createToken(values.name, scopes as Scope[]);
  process.stdout.write(
    `Token (shown once; store it in your secret manager):\n  ${token}\n\nAdd this to watchkeeper.yaml and reload:\n${stringify({ auth: { tokens: [entry] } }, { indent: 2 })}`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return startCommand(rest);
    case 'check-config':
      return checkConfigCommand(rest);
    case 'token':
      return tokenCommand(rest);
    case 'promqltest': {
      const { runPromqlTestCli } = await import('./promqltest.js');
      return runPromqlTestCli(rest, process.stdout);
    }
    case 'alerts': {
      const { runAlertsCli } = await import('./alerts.js');
      return runAlertsCli(rest, process.stdout, process.stderr);
    }
    case 'projects': {
      const { runProjectsCli } = await import('./projects.js');
      return runProjectsCli(rest, process.stdout);
    }
    case '--version':
    case 'version':
      process.stdout.write(`watchkeeper ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`watchkeeper: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`watchkeeper: ${(err as Error).message}\n`);
    process.exitCode = (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1;
  },
);
