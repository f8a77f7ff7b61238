/**
 * Crash safety: a child process appends while being killed with SIGKILL at random moments;
 * after each kill the store must open cleanly and hold every acknowledged sample.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTsdb } from '../../src/tsdb/index.js';
import { capturingLogger, tempDirs, testOptions } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../../..');
const temp = tempDirs();
afterAll(() => temp.cleanup());

const WRITERS = 4;
const SERIES_PER_WRITER = 50;

/** Runs the child until it has acknowledged a few batches, kills it after a random delay, returns the acks. */
function runAndKill(dir: string, round: number, delayMs: number): Promise<Map<number, number[]>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-child.ts'), dir, String(round)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks = new Map<number, number[]>();
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const [, w, b] = buffered.slice(0, nl).split(' ');
        buffered = buffered.slice(nl + 1);
        const list = acks.get(Number(w)) ?? [];
        list.push(Number(b));
        acks.set(Number(w), list);
        if (timer === null) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (timer !== null) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolvePromise(acks);
    });
  });
}

describe('TSDB crash safety', () => {
  it('keeps every acknowledged sample when the writer is killed with SIGKILL', async () => {
    const dir = temp.make();
    const acked: { round: number; writer: number; batch: number }[] = [];
    for (let round = 1; round <= 5; round++) {
      const acks = await runAndKill(dir, round, 50 + Math.floor(Math.random() * 600));
      for (const [writer, batches] of acks) for (const batch of batches) acked.push({ round, writer, batch });
      const { logger, lines } = capturingLogger();
      const db = await openTsdb(testOptions(dir, { logger, walSegmentBytes: 64 << 10 }));
      expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
      const data = await db
        .querier(-Infinity, Infinity)
        .select([{ name: '__name__', type: '=', value: 'crash_test' }], { start: -Infinity, end: Infinity });
      expect(data.length).toBe(WRITERS * SERIES_PER_WRITER);
      const bySeries = new Map(data.map((d) => [`${d.labels[1]!.value}/${d.labels[2]!.value}`, d]));
      for (const a of acked) {
        const t = (a.round * 100_000 + a.batch) * 1000;
        for (let s = 0; s < SERIES_PER_WRITER; s++) {
          const d = bySeries.get(`${s}/${a.writer}`)!;
          const i = d.timestamps.indexOf(t);
          expect(i, `round ${a.round} writer ${a.writer} batch ${a.batch} series ${s}`).toBeGreaterThanOrEqual(0);
          expect(d.values[i]).toBe(a.batch * 1000 + s);
        }
      }
      // The reader above replayed what the crash left; closing writes a checkpoint (and releases
      // the directory lock) that the next round's writer starts from.
      await db.close();
    }
    expect(acked.length).toBeGreaterThan(0);
  }, 120_000);
});
