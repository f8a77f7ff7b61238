/**
 * Routing agreement: for each configuration and label set in testdata/routing/cases.json, the dry
 * run `watchkeeper alerts route` prints the same receivers, in the same order, as the real
 * `amtool config routes test`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runAlertsCli } from '../cli/alerts.js';

const exec = promisify(execFile);
const AMTOOL = '/usr/bin/amtool';
const DATA = resolve(import.meta.dirname, 'testdata/routing');
const SHARED = resolve(import.meta.dirname, '../../../../../shared');
const hasAmtool = existsSync(AMTOOL);
if (!hasAmtool && process.env.CI) throw new Error('amtool is required under CI (apt-get install prometheus-alertmanager)');
if (!hasAmtool) console.warn('skipping routing agreement: /usr/bin/amtool is not installed (apt-get install prometheus-alertmanager)');

const cases = JSON.parse(readFileSync(join(DATA, 'cases.json'), 'utf8')) as Record<string, string[][]>;
const rows: [string, string[]][] = [];
for (const [file, labelSets] of Object.entries(cases)) {
  const path = resolve(DATA, file);
  if (path.startsWith(SHARED) && !existsSync(path)) {
    console.warn(`skipping ${file}: ../shared is not present`);
    continue;
  }
  for (const labels of labelSets) rows.push([path, labels]);
}

/** Label values the test configurations match on, plus near misses, for generated label sets. */
const POOL: Record<string, string[]> = {
  team: ['db', 'ops', 'biz', 'dba'],
  severity: ['critical', 'page', 'warning', 'info', 'critical2'],
  env: ['prod', 'dev'],
  service: ['api', 'web', 'api2', 'webapi'],
  instance: ['canary-1', 'web-1', 'canary'],
  owner: ['alice', 'bot-1', 'bot', ''],
  msg: ['a,b', 'a', 'b'],
  path: ['/api/v1', '/web/api', '/api/'],
  method: ['GET', 'POST'],
  code: ['500', '503', '5030', '404', '40'],
  zone: ['eu-west', 'us-west', 'eu-', 'ap-east'],
  job: ['api', 'db'],
};

/** A small deterministic PRNG (mulberry32) so generated cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(20261122);
const generated: [string, string[]][] = [];
for (const file of ['nested-continue.yml', 'quoting.yml']) {
  for (let i = 0; i < 25; i++) {
    const labels: string[] = [];
    for (const [name, values] of Object.entries(POOL)) {
      if (random() < 0.35) labels.push(`${name}=${JSON.stringify(values[Math.floor(random() * values.length)])}`);
    }
    generated.push([resolve(DATA, file), labels]);
  }
}

async function watchkeeperRoute(config: string, labels: string[]): Promise<string> {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  let errText = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  const code = await runAlertsCli(['route', '--config', config, ...labels], out, err);
  expect(errText).toBe('');
  expect(code).toBe(0);
  return text.trim();
}

async function amtoolRoute(config: string, labels: string[]): Promise<string> {
  const { stdout } = await exec(AMTOOL, ['config', 'routes', 'test', `--config.file=${config}`, ...labels]);
  return stdout.trim();
}

describe.skipIf(!hasAmtool)('routing agrees with amtool config routes test', () => {
  it.each([...rows, ...generated])('%s %j', async (config, labels) => {
    const [ours, theirs] = await Promise.all([watchkeeperRoute(config, labels), amtoolRoute(config, labels)]);
    expect(theirs).not.toBe('');
    expect(ours).toBe(theirs);
  });

  const dir = mkdtempSync(join(tmpdir(), 'wk-alerts-route-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the alerting section of a watchkeeper.yaml, inline and as config_file', async () => {
    const inline = join(dir, 'inline.yaml');
    writeFileSync(inline, `alerting:\n  route:\n    receiver: a\n    routes:\n      - matchers: [x="1"]\n        receiver: b\n        continue: true\n      - receiver: c\n  receivers:\n    - name: a\n    - name: b\n    - name: c\n`);
    expect(await watchkeeperRoute(inline, ['x=1'])).toBe('b,c');
    writeFileSync(join(dir, 'am.yml'), readFileSync(join(DATA, 'quoting.yml')));
    const byFile = join(dir, 'by-file.yaml');
    writeFileSync(byFile, 'alerting:\n  config_file: am.yml\n');
    expect(await watchkeeperRoute(byFile, ['code=503'])).toBe(await amtoolRoute(join(DATA, 'quoting.yml'), ['code=503']));
  });
});
