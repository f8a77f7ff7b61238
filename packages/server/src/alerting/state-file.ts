/**
 * Durable JSON state files under the data directory (silences, notification log, alerts): written
 * to a temporary file, fsynced and renamed, so a crash leaves either the old or the new state.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes `value` as JSON to `path` atomically and durably, synchronously (for rare changes such as silences). */
export function writeStateFile(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

async function writeAtomic(path: string, json: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(json);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/**
 * Writes snapshots of one state file without blocking the event loop. Writes run one after another
 * in call order, so a later snapshot never loses to an earlier one.
 */
export class StateFileWriter {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  /** Snapshots `value` now; resolves once it is durable on disk. */
  write(value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    const done = this.chain.then(() => writeAtomic(this.path, json));
    this.chain = done.catch(() => undefined);
    return done;
  }
}

/** Reads a state file; a missing file is `null`, an unreadable one throws with the path in the message. */
export function readStateFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`corrupt state file ${path}: ${(err as Error).message}`);
  }
}
