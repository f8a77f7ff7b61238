import { it } from 'vitest';
import { compressSync, uncompressSync } from 'snappy';
import { encodeWriteRequest } from '../../../../test/support/remote-write-proto.js';
import { decodeWriteRequest } from './write-request-decoder.js';
import { Rejections } from '../../rejections.js';
import type { Appender } from '../../../storage/interfaces.js';

it('bench', () => {
  const timeseries = [];
  for (let i = 0; i < 2000; i++) {
    timeseries.push({
      labels: [
        { name: '__name__', value: `http_requests_total` },
        { name: 'code', value: String(200 + (i % 5)) },
        { name: 'handler', value: `/api/v1/endpoint/${i % 50}` },
        { name: 'instance', value: `10.0.${i % 255}.${(i * 7) % 255}:9100` },
        { name: 'job', value: 'node-exporter' },
        { name: 'method', value: 'GET' },
        { name: 'pod', value: `web-${i % 100}-abcdef` },
        { name: 'region', value: 'eu-west-1' },
      ],
      samples: [{ value: i * 1.5, timestamp: 1700000000000 + i }],
    });
  }
  const raw = encodeWriteRequest({ timeseries });
  const body = compressSync(raw);
  console.log('raw bytes', raw.length, 'snappy', body.length);
  const noop: Appender = { append: () => 1, updateMetadata: () => {}, commit: async () => {}, rollback: () => {} };
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (let i = 0; i < 200; i++) {
      const buf = uncompressSync(body, { asBuffer: true }) as Buffer;
      n += decodeWriteRequest(buf, noop, { maxSeriesPerRequest: 1e6 }, new Rejections()).samplesAppended;
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log('samples/s (decode+snappy, noop appender)', Math.round(n / dt));
  }
});
