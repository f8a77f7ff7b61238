import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runProjectsCli } from './projects.js';

describe('watchkeeper projects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-projects-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<{ code: number; text: string }> {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const code = await runProjectsCli(args, out);
    return { code, text };
  }

  const config = (name: string, body: string): string => {
    const file = join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  it('prints each project with the DSN of each key', async () => {
    const file = config(
      'a.yaml',
      'server:\n  listen: 0.0.0.0:9800\nprojects:\n  - id: 2\n    name: billing\n    keys: [billingkey0001]\n  - id: 1\n    name: shop\n    keys: [shopkey000001, shopkey000002]\n    rate_limit_per_minute: 300\n',
    );
    const { code, text } = await run(['--config', file]);
    expect(code).toBe(0);
    expect(text).toBe(
      '1\tshop, 300 events/min\n\thttp://shopkey000001@127.0.0.1:9800/1\n\thttp://shopkey000002@127.0.0.1:9800/1\n2\tbilling\n\thttp://billingkey0001@127.0.0.1:9800/2\n',
    );
    expect((await run(['--config', file, '--url', 'https://errors.example.com/wk/'])).text).toContain('https://shopkey000001@errors.example.com/wk/1');
  });

  it('uses server.external_url and explains an empty or invalid configuration', async () => {
    const ext = config('b.yaml', 'server:\n  external_url: https://wk.example.org\nprojects:\n  - id: 7\n    name: app\n    keys: [appkey000001]\n');
    expect((await run(['--config', ext])).text).toContain('https://appkey000001@wk.example.org/7');
    expect((await run([])).text).toMatch(/no projects configured/);
    const dup = config('c.yaml', 'projects:\n  - id: 1\n    name: a\n  - id: 1\n    name: b\n    keys: [short]\n');
    const bad = await run(['--config', dup]);
    expect(bad.code).toBe(2);
    expect(bad.text).toMatch(/duplicate project id 1/);
    expect(bad.text).toMatch(/public key of 8-64/);
    expect((await run(['--bogus'])).code).toBe(2);
    expect((await run(['--config', ext, '--url', 'not a url'])).code).toBe(2);
  });
});
