import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { openSignalStore } from '../src/storage/signal-store/index.js';

const CHILD = resolve(import.meta.dirname, 'support/logs-ingest-child.ts');
const LINES_PER_BATCH = 200;

describe('log store crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-logs-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged line when the process is SIGKILLed during ingestion', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Set<number>();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let buffered = '';
    const exited = new Promise<string | number | null>((ok) => child.on('exit', (code, signal) => ok(signal ?? code)));
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`child acknowledged only ${acked.size} batches in 30 s; stderr: ${stderr}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const l of lines) if (l.startsWith('acked ')) acked.add(Number(l.slice(6)));
        if (acked.size >= 40) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          ok();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        if (acked.size < 40) fail(new Error(`child exited early; stderr: ${stderr}`));
      });
    });
    expect(await exited).toBe('SIGKILL');

    const store = await openSignalStore({ dir, logger: pino({ level: 'silent' }), registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
    try {
      const rows = await store.logs.countBuckets({ originNs: 0n, widthNs: 1n << 62n, bucketCount: 1, matchers: [{ type: '=', name: 'service_name', value: 'crash' }] });
      const stored = rows.count.reduce((a, b) => a + b, 0);
      for (const id of acked) {
        const lines = await store.logs.select({ startNs: 0n, endNs: 1n << 62n, matchers: [], fields: { requestId: `b${id}` }, direction: 'forward', limit: LINES_PER_BATCH + 1 });
        expect(lines.length, `batch ${id}`).toBe(LINES_PER_BATCH);
      }
      // Batches are atomic: nothing stored is a fraction of a batch.
      expect(stored % LINES_PER_BATCH).toBe(0);
      expect(stored).toBeGreaterThanOrEqual(acked.size * LINES_PER_BATCH);
    } finally {
      await store.close();
    }
  }, 60_000);
});
