/**
 * An ESM service started with `--import @watchkeeper/node/register` gets library spans (Express
 * layers) for packages it imported statically, before init() ran.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryReceiver } from './support/telemetry-receiver.js';

const DIST = resolve(import.meta.dirname, '../dist');
const NODE_MODULES = resolve(import.meta.dirname, '../../../node_modules');
const receiver = new TelemetryReceiver();
let dir = '';

beforeAll(async () => {
  expect(existsSync(join(DIST, 'register.js')), 'build the SDK first (npm run build)').toBe(true);
  await receiver.start();
  dir = mkdtempSync(join(tmpdir(), 'wk-sdk-esm-'));
  // Bare specifiers, as a service writes them, resolve through the repository's node_modules.
  symlinkSync(NODE_MODULES, join(dir, 'node_modules'));
});

afterAll(async () => {
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<number | null> {
  const file = join(dir, 'app.mjs');
  writeFileSync(
    file,
    [
      "import express from 'express';",
      "import { init } from '@watchkeeper/node';",
      `const wk = init({ service: 'esm-app', endpoint: ${JSON.stringify(receiver.url)}, logging: false, errors: false, env: {} });`,
      'const app = express();',
      'app.use(wk.express());',
      "app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));",
      "const srv = app.listen(0, '127.0.0.1', async () => {",
      "  await fetch(`http://127.0.0.1:${srv.address().port}/users/1`, { headers: { 'x-request-id': process.argv[2] } });",
      '  await wk.flush(5000);',
      '  srv.close();',
      '  await wk.shutdown();',
      '});',
    ].join('\n'),
  );
  return new Promise((ok) => {
    const child = spawn(process.execPath, [...args, file, args.length > 0 ? 'with-hook' : 'without-hook'], { stdio: 'inherit' });
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => (clearTimeout(kill), ok(code)));
  });
}

describe('ESM loader hook', () => {
  it('instruments Express layers in an ESM service only with --import @watchkeeper/node/register', async () => {
    expect(await run([])).toBe(0);
    expect(await run(['--import', '@watchkeeper/node/register'])).toBe(0);
    const traceOf = (id: string) => receiver.spans.find((s) => s.attributes.request_id === id)?.traceId;
    const layerSpans = (id: string) => receiver.spans.filter((s) => s.traceId === traceOf(id) && s.attributes['express.type'] !== undefined);
    expect(traceOf('without-hook')).toBeDefined();
    expect(layerSpans('without-hook')).toEqual([]);
    expect(layerSpans('with-hook').map((s) => [s.name, s.attributes['express.type']])).toContainEqual(['request handler', 'request_handler']);
  });
});
