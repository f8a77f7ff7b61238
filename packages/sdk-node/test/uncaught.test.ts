/**
 * A process using the built SDK dies of an uncaught exception or an unhandled rejection: the error
 * reaches the DSN as a fatal, unhandled event before the process exits with code 1, as Node would.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryReceiver } from './support/telemetry-receiver.js';

const DIST = resolve(import.meta.dirname, '../dist/index.js');
const receiver = new TelemetryReceiver();
let dir = '';

beforeAll(async () => {
  expect(existsSync(DIST), 'build the SDK first (npm run build)').toBe(true);
  await receiver.start();
  dir = mkdtempSync(join(tmpdir(), 'wk-sdk-uncaught-'));
});

afterAll(async () => {
  await receiver.stop();
  rmSync(dir, { recursive: true, force: true });
});

function runScript(body: string): Promise<{ code: number | null; stdout: string }> {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    file,
    [
      `import { init } from ${JSON.stringify(pathToFileURL(DIST).href)};`,
      `init({ service: 'crashy', tracing: false, dsn: 'http://0123456789abcdef0123456789abcdef@127.0.0.1:${receiver.port}/1', env: {} });`,
      body,
    ].join('\n'),
  );
  return new Promise((ok) => {
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      ok({ code, stdout });
    });
  });
}

describe('uncaught errors', () => {
  it('captures an uncaught exception, flushes, then exits with code 1', async () => {
    const { code, stdout } = await runScript("setTimeout(() => { throw new RangeError('uncaught in a timer'); }, 10);");
    expect(code).toBe(1);
    expect(stdout).toContain('uncaught exception');
    const event = receiver.events().find((e) => JSON.stringify(e.exception).includes('uncaught in a timer'));
    expect(event).toMatchObject({ level: 'fatal', exception: { values: [{ type: 'RangeError', mechanism: { type: 'onuncaughtexception', handled: false } }] } });
    expect((event!.contexts as { trace: { trace_id: string } }).trace.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('captures an unhandled rejection, flushes, then exits with code 1', async () => {
    const { code } = await runScript("Promise.reject(new Error('nobody awaited this'));");
    expect(code).toBe(1);
    const event = receiver.events().find((e) => JSON.stringify(e.exception).includes('nobody awaited this'));
    expect(event).toMatchObject({ level: 'fatal', exception: { values: [{ mechanism: { type: 'onunhandledrejection', handled: false } }] } });
  });
});
