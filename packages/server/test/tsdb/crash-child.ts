/**
 * Child process of the crash test: appends batches to a TSDB from several concurrent writers
 * and prints `ack <writer> <batch>` once each batch's commit has resolved (is durable). The
 * parent kills it with SIGKILL at a random moment. Args: <dir> <round>.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { labelsFromRecord } from '../../src/model/labels.js';
import { openTsdb } from '../../src/tsdb/index.js';

const WRITERS = 4;
const SERIES_PER_WRITER = 50;

const [dir, roundArg] = process.argv.slice(2);
const round = Number(roundArg);
const db = await openTsdb({
  dir: dir!,
  logger: pino({ level: 'silent' }),
  registry: new Registry(),
  blockDurationMs: 2 * 3600_000,
  retentionMs: 15 * 24 * 3600_000,
  retentionBytes: 0,
  outOfOrderWindowMs: 0,
  walSegmentBytes: 64 << 10,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 4096,
  maxLabelsPerSeries: 64,
  maxSeriesPerRequest: 1_000_000,
});

const deadline = Date.now() + 20_000;

async function writer(w: number): Promise<void> {
  for (let batch = 0; batch < 100_000 && Date.now() < deadline; batch++) {
    const app = db.appender();
    const t = (round * 100_000 + batch) * 1000;
    for (let s = 0; s < SERIES_PER_WRITER; s++) {
      app.append(0, labelsFromRecord({ __name__: 'crash_test', writer: String(w), series: String(s) }), t, batch * 1000 + s);
    }
    await app.commit();
    process.stdout.write(`ack ${w} ${batch}\n`);
  }
}

await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
await db.close();
