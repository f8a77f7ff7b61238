/** The embedded TSDB: the public surface the composition root wires in. */
import { Tsdb, type TsdbOptions } from './tsdb.js';

export { Tsdb, type TsdbOptions } from './tsdb.js';
export { DirectoryLockedError } from '../storage/dir-lock.js';

/** Opens the TSDB in `opts.dir` (or in memory without one), replaying its WAL. */
export async function openTsdb(opts: TsdbOptions): Promise<Tsdb> {
  return Tsdb.open(opts);
}
