import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScriptFile } from './test-script/run-file.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const sharedDir = resolve(repoRoot, '../shared/promqltest');
const ownDir = join(repoRoot, 'packages/server/test/promql');

function scripts(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test'))
    .sort()
    .map((f) => join(dir, f));
}

async function failures(file: string): Promise<string[]> {
  const report = await runScriptFile(file, await readFile(file, 'utf8'));
  const out: string[] = [];
  for (const o of report.outcomes) if (o.status === 'failed') out.push(`${file}:${o.line}: ${o.expr}: ${o.message}`);
  if (report.error) out.push(`${file}: ${report.error}`);
  return out;
}

describe('PromQL script cases of this project', () => {
  for (const file of scripts(ownDir)) {
    it(file.slice(ownDir.length + 1), async () => {
      expect(await failures(file)).toEqual([]);
    });
  }
});

describe.skipIf(!existsSync(sharedDir))('Prometheus conformance scripts in ../shared/promqltest', () => {
  if (!existsSync(sharedDir)) {
    it.skip(`skipped: ${sharedDir} is absent`, () => {});
    return;
  }
  for (const file of scripts(sharedDir)) {
    it(file.slice(sharedDir.length + 1), async () => {
      expect(await failures(file)).toEqual([]);
    });
  }
});
