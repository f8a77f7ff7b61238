/**
 * `watchkeeper promqltest FILE...`: runs PromQL test scripts (Prometheus's test language), prints
 * each failing eval, one summary line per file and a final `N passed, M failed, K skipped` line.
 */
import { readFile } from 'node:fs/promises';
import { runScriptFile, type FileReport } from '../promql/test-script/run-file.js';

function formatReport(r: FileReport, out: NodeJS.WritableStream): void {
  for (const o of r.outcomes) {
    if (o.status === 'failed') out.write(`FAIL ${r.file}:${o.line}: ${o.expr}\n  ${o.message}\n`);
  }
  const skipped = new Map<string, number>();
  for (const o of r.outcomes) if (o.status === 'skipped') skipped.set(o.feature, (skipped.get(o.feature) ?? 0) + 1);
  const reasons = [...skipped].map(([f, n]) => `${n}× ${f}`).join(', ');
  const error = r.error ? ` (file error: ${r.error})` : '';
  out.write(`${r.file}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped${reasons ? ` [skipped: ${reasons}]` : ''}${error}\n`);
}

/** Runs the given script files; resolves to the process exit code (non-zero when any eval failed). */
export async function runPromqlTestCli(args: string[], out: NodeJS.WritableStream): Promise<number> {
  if (args.length === 0) {
    out.write('usage: watchkeeper promqltest FILE...\n');
    return 2;
  }
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of args) {
    const report = await runScriptFile(file, await readFile(file, 'utf8'));
    formatReport(report, out);
    passed += report.passed;
    failed += report.failed;
    skipped += report.skipped;
  }
  out.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  return failed > 0 ? 1 : 0;
}
