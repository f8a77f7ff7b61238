/**
 * `npm run demo`'s entry script end to end, bounded: it starts Watchkeeper, the shop, the payment
 * service and the traffic, prints where to look, the traffic's payment outage makes
 * PaymentCircuitOpen fire and its webhook notification is printed; SIGINT then stops every child
 * it started and removes its temporary run directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEMO = resolve(import.meta.dirname, '../../../examples/shop/demo/demo.mjs');

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  let proc: ChildProcess;
  let exited: Promise<number | string>;
  let output = '';
  const childPids = () => [...output.matchAll(/started (\S+) \(pid (\d+)\)/g)].map((m) => ({ name: m[1]!, pid: Number(m[2]) }));

  async function waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = re.exec(output);
      if (m) return m;
      if (proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the demo did not print ${re} within ${timeoutMs / 1000} s; it printed:\n${output}`);
  }

  beforeAll(() => {
    proc = spawn(process.execPath, [DEMO, '--free-ports', '--rate', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((ok) => proc.on('exit', (code, signal) => ok(code ?? signal ?? -1)));
  });

  afterAll(async () => {
    // Whatever happened in the test, nothing it started outlives it.
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    for (const { pid } of childPids()) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  });

  it('starts everything, fires an example alert within a minute and stops every child on SIGINT', async () => {
    const running = await waitForOutput(/Watchkeeper demo is running[\s\S]*run directory +(\S+)/, 30_000);
    const runDir = running[1]!;
    expect(childPids().map((c) => c.name)).toEqual(['watchkeeper', 'payments', 'shop', 'traffic']);
    expect(output).toMatch(/alerts +http:\/\/127\.0\.0\.1:\d+\/api\/v1\/alerts/);
    await waitForOutput(/\[traffic \+ *\d+s\] phase outage/, 20_000);
    await waitForOutput(/\[alert → team\] FIRING +PaymentCircuitOpen \(warning\) job=shop provider=acmepay/, 40_000);

    proc.kill('SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    expect(code).toBe(0);
    expect(output).toMatch(/stopped: watchkeeper \(0\), payments \(0\), shop \(0\), traffic \(0\)/);
    for (const { name, pid } of childPids()) expect(isRunning(pid), `${name} (pid ${pid}) still running`).toBe(false);
    expect(existsSync(runDir)).toBe(false);
  }, 110_000);
});
