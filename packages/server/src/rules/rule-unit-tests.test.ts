/**
 * Rule unit tests in promtool's format, each run by Watchkeeper's runner and by the real
 * `promtool test rules`: the project's example rules, and the shared examples with generated data
 * taking every example alert through pending, firing and resolved.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runRuleTestFile } from './rule-test-runner.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../../..');
const exampleRules = join(repoRoot, 'examples/rules');
const sharedRules = resolve(repoRoot, '../shared/examples/rules.yml');
const hasPromtool = existsSync('/usr/bin/promtool');
const promtoolMissing = !hasPromtool && !process.env.CI;
if (promtoolMissing) console.warn('promtool is not installed (apt-get install prometheus): skipping the promtool half of the rule unit tests');
if (!existsSync(sharedRules)) console.warn(`${sharedRules} is absent: skipping the shared example rule tests`);

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wk-rule-tests-'));
  dirs.push(d);
  return d;
}

async function promtoolTest(file: string): Promise<string> {
  const { stdout } = await run('promtool', ['test', 'rules', file], { timeout: 30_000 });
  return stdout;
}

describe('project example rules (examples/rules)', () => {
  const testFile = join(exampleRules, 'service.rules.test.yml');

  it('pass Watchkeeper runner', async () => {
    expect(await runRuleTestFile(testFile)).toEqual([]);
  });

  it.skipIf(promtoolMissing)('pass promtool test rules', async () => {
    expect(await promtoolTest(testFile)).toContain('SUCCESS');
  });

  it('a wrong expectation fails the runner with the alert it got', async () => {
    const dir = await tempDir();
    await copyFile(join(exampleRules, 'service.rules.yml'), join(dir, 'service.rules.yml'));
    const text = (await readFile(testFile, 'utf8')).replace('summary: "Queue emails holds 2k jobs"', 'summary: "Queue emails holds 3k jobs"');
    await writeFile(join(dir, 'wrong.test.yml'), text);
    const failures = await runRuleTestFile(join(dir, 'wrong.test.yml'));
    expect(failures.length).toBe(1);
    expect(failures[0]).toContain('alertname: WorkerQueueBacklog');
    expect(failures[0]).toContain('holds 2k jobs');
  });
});

describe('rule templates (testdata/templates.test.yml): every template feature expands as in Prometheus', () => {
  const testFile = join(import.meta.dirname, 'testdata/templates.test.yml');

  it('Watchkeeper', async () => {
    expect(await runRuleTestFile(testFile)).toEqual([]);
  });

  it.skipIf(promtoolMissing)('promtool', async () => {
    expect(await promtoolTest(testFile)).toContain('SUCCESS');
  });
});

describe.skipIf(!existsSync(sharedRules))('shared example rules (../shared/examples/rules.yml)', () => {
  async function prepared(): Promise<string> {
    const dir = await tempDir();
    await copyFile(sharedRules, join(dir, 'rules.yml'));
    await copyFile(join(import.meta.dirname, 'testdata/shared-examples.test.yml'), join(dir, 'shared-examples.test.yml'));
    return join(dir, 'shared-examples.test.yml');
  }

  it('every example alert goes pending, fires with its annotations and resolves (Watchkeeper)', async () => {
    expect(await runRuleTestFile(await prepared())).toEqual([]);
  });

  it.skipIf(promtoolMissing)('the same expectations hold in promtool', async () => {
    expect(await promtoolTest(await prepared())).toContain('SUCCESS');
  });
});
