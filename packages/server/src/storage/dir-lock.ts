/**
 * A lock file (`lock`, holding the owner's pid) so two processes never write one data directory.
 * A lock left by a dead process (a crash) is taken over. Node has no flock, so liveness is
 * checked with signal 0; the same pid (a restart as pid 1 in a container, or tests reopening in
 * one process) may take the lock too.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The data directory is locked by another live process. */
export class DirectoryLockedError extends Error {
  override readonly name = 'DirectoryLockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dir`; returns the function that releases it. Throws DirectoryLockedError when another live process holds it. */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'lock');
  let previous = '';
  try {
    previous = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const owner = Number(previous);
  if (previous !== '' && Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
    throw new DirectoryLockedError(`data directory ${dir} is in use by process ${owner} (remove ${path} if that is wrong)`);
  }
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return async () => {
    await rm(path, { force: true });
  };
}
