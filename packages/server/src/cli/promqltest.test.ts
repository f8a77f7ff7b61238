import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runPromqlTestCli } from './promqltest.js';

const dir = mkdtempSync(join(tmpdir(), 'wk-promqltest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const paths = Object.entries(files).map(([name, text]) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  });
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const code = await runPromqlTestCli(paths, out);
  return { code, out: text };
}

describe('watchkeeper promqltest', () => {
  it('reports passes, failures and skips, and exits non-zero on a failure', async () => {
    const { code, out } = await run({
      'ok.test': 'load 1m\n  x{a="1"} 1 2 3\n\neval instant at 2m x\n  x{a="1"} 3\n\neval instant at 2m x + fill(0) y\n  {a="1"} 3\n',
      'bad.test': 'load 1m\n  x 1 2 3\n\neval instant at 2m x\n  x 4\n\neval instant at 2m start_timestamp(x)\n',
    });
    expect(code).toBe(1);
    expect(out).toContain(`FAIL ${join(dir, 'bad.test')}:4: x`);
    expect(out).toContain('x: expected 4, got 3');
    expect(out).toContain('bad.test: 0 passed, 1 failed, 1 skipped [skipped: 1× the start_timestamp() function]');
    expect(out.trimEnd().split('\n').pop()).toBe('2 passed, 1 failed, 1 skipped');
  });

  it('exits 0 when everything passes and counts a broken file as a failure', async () => {
    expect((await run({ 'fine.test': 'eval instant at 0m 1 + 1\n  2\n' })).code).toBe(0);
    const broken = await run({ 'broken.test': 'frobnicate\n' });
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('file error: line 1: unknown command');
  });
});
