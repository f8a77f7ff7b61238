/**
 * Log lines on stdout (the default destination, written in chunks): every line reaches stdout when
 * the process exits through process.exit, many lines arrive whole, and a lone line is written
 * while the process keeps running (by the periodic flush).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wk-sdk-stdout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` after init() in a child; `onStdout` sees stdout as it arrives and may end the child's stdin. */
function run(body: string, onStdout: (text: string, endStdin: () => void) => void = () => {}): Promise<{ stdout: string }> {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, [`import { init } from ${JSON.stringify(pathToFileURL(DIST).href)};`, `const wk = init({ service: 'stdout-test', tracing: false, errors: false, metrics: false, env: {} });`, body].join('\n'));
  return new Promise((ok) => {
    const child = spawn(process.execPath, [file], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    // Decoded as a stream: a pipe read may end inside a multi-byte character.
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => onStdout((stdout += d), () => child.stdin.end()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', () => {
      clearTimeout(kill);
      ok({ stdout });
    });
  });
}

const messages = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { message: string }).message);

describe('stdout lines', () => {
  it('writes every line before process.exit, and many lines whole', async () => {
    const few = await run(`wk.logger.info('one'); wk.logger.warn('two'); process.exit(0);`);
    expect(messages(few.stdout)).toEqual(['one', 'two']);
    const many = await run(`for (let i = 0; i < 3000; i++) wk.logger.info({ i }, 'line ' + i + ' ' + 'é'.repeat(i % 50));`);
    expect(messages(many.stdout)).toEqual(Array.from({ length: 3000 }, (_, i) => `line ${i} ${'é'.repeat(i % 50)}`));
  });

  it('writes a lone line within the flush interval while the process runs', async () => {
    // The child exits only once the line arrived (the parent then ends its stdin), or is killed.
    let seen = false;
    await run(`wk.logger.info('lone'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`, (text, endStdin) => {
      if (!seen && text.includes('"lone"')) {
        seen = true;
        endStdin();
      }
    });
    expect(seen).toBe(true);
  });
});
