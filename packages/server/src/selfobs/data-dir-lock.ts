/**
 * One process per data directory. A lock file holds the owner's pid; a lock left by a process
 * that no longer runs (killed with SIGKILL, power loss) is taken over, with a log line.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockDataDir(dir: string, logger: Logger): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'watchkeeper.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new Error(`data directory ${dir} is in use by another Watchkeeper process (pid ${owner})`);
      }
      logger.warn({ path, stale_pid: owner }, 'removing a stale data directory lock left by a process that is gone');
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot lock data directory ${dir}`);
}
