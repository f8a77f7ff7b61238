/** Logs also go to a rotating file (pino-roll) when `logging.file` is set, child loggers included. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { memoryDestination, waitFor } from './support/telemetry-receiver.js';

const dir = mkdtempSync(join(tmpdir(), 'wk-sdk-logfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rotating log file', () => {
  it('writes the same JSON lines to stdout and to size-rotated files', async () => {
    const stdout = memoryDestination();
    const wk = init({ service: 'filelog', tracing: false, errors: false, metrics: false, logging: { destination: stdout, level: 'debug', file: { path: join(dir, 'app.log'), size: '1k', keep: 10 } }, env: {} });
    const db = wk.logger.child({ logger: 'db' });
    const files = () => readdirSync(dir).filter((f) => f.startsWith('app.log'));
    const lineCount = () => files().reduce((n, f) => n + readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).length, 0);
    // Batches land as separate writes (the file is written by a worker thread): rotation is checked per write.
    for (let batch = 0; batch < 4; batch++) {
      for (let i = batch * 10; i < batch * 10 + 10; i++) db.debug({ i }, `query number ${i} finished`);
      expect(await waitFor(() => lineCount() >= batch * 10 + 10, 5000)).toBe(true);
    }
    await wk.shutdown();
    expect(files().length).toBeGreaterThan(1);
    const lines = files().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.i).sort((a, b) => Number(a) - Number(b))).toEqual(stdout.lines.map((l) => l.i));
    expect(lines[0]).toMatchObject({ service: 'filelog', logger: 'db', level: 'debug' });
  });
});
