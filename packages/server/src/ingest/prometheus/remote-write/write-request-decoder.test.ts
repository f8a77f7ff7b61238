import { describe, expect, it } from 'vitest';
import type { Labels } from '../../../model/labels.js';
import type { MetricMetadata } from '../../../model/samples.js';
import { AppendError, type Appender } from '../../../storage/interfaces.js';
import { DecodeError } from '../../protobuf/proto-reader.js';
import { Rejections } from '../../rejections.js';
import { encodeWriteRequest, WriteRequestType, type TestSeries } from '../../../../test/support/remote-write-proto.js';
import { StringInterner } from '../../protobuf/string-interner.js';
import { SeriesCache } from './series-cache.js';
import { decodeWriteRequest } from './write-request-decoder.js';

/** Records what the decoder appends. */
function recordingAppender(reject?: (labels: Labels, t: number) => AppendError | null): Appender & { rows: string[]; meta: [string, MetricMetadata][] } {
  const rows: string[] = [];
  const meta: [string, MetricMetadata][] = [];
  return {
    rows,
    meta,
    append(_ref, labels, t, v) {
      const err = reject?.(labels, t);
      if (err) throw err;
      rows.push(`${JSON.stringify(labels)} ${t} ${Object.is(v, -0) ? '-0' : String(v)}`);
      return 1;
    },
    updateMetadata: (name, m) => void meta.push([name, m]),
    commit: async () => {},
    rollback: () => {},
  };
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const LIMITS = { maxSeriesPerRequest: 1000 };
const tinyCaches = { maxSeriesPerRequest: 1000, interner: new StringInterner(2), seriesCache: new SeriesCache(2) };

describe('decodeWriteRequest', () => {
  it('appends what protobufjs decodes, for random requests', () => {
    const rand = rng(1234);
    const specials = [NaN, Infinity, -Infinity, -0, 0, 1e308, 5e-324];
    for (let round = 0; round < 200; round++) {
      const timeseries: TestSeries[] = [];
      const nSeries = Math.floor(rand() * 6);
      for (let s = 0; s < nSeries; s++) {
        const labels = [{ name: '__name__', value: `m${Math.floor(rand() * 10)}` }];
        const extra = Math.floor(rand() * 4);
        for (let l = 0; l < extra; l++) labels.push({ name: `l${l}`, value: `v${Math.floor(rand() * 4)}${rand() < 0.2 ? 'é' : ''}` });
        const samples = Array.from({ length: Math.floor(rand() * 5) }, () => ({
          value: rand() < 0.2 ? specials[Math.floor(rand() * specials.length)]! : (rand() - 0.5) * 1e6,
          timestamp: Math.floor((rand() - 0.1) * 2 ** 45),
        }));
        timeseries.push({ labels, samples });
      }
      const body = encodeWriteRequest({ timeseries });
      const app = recordingAppender();
      const result = decodeWriteRequest(body, app, LIMITS, new Rejections());
      // Tiny caches force collisions and evictions; results must not change, on first sight or repeated.
      for (let pass = 0; pass < 2; pass++) {
        const cached = recordingAppender();
        decodeWriteRequest(body, cached, tinyCaches, new Rejections());
        expect(cached.rows).toEqual(app.rows);
      }

      const decoded = WriteRequestType.toObject(WriteRequestType.decode(body), { longs: Number, arrays: true }) as {
        timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[];
      };
      const want: string[] = [];
      for (const ts of decoded.timeseries) {
        const labels = [...ts.labels].sort((a, b) => (a.name < b.name ? -1 : 1)).map((l) => ({ name: l.name, value: l.value }));
        for (const smp of ts.samples) want.push(`${JSON.stringify(labels)} ${smp.timestamp ?? 0} ${Object.is(smp.value, -0) ? '-0' : String(smp.value ?? 0)}`);
      }
      expect(app.rows).toEqual(want);
      expect(result.samplesAppended).toBe(want.length);
    }
  });

  it('sorts unsorted labels, drops empty values and reads metadata', () => {
    const body = encodeWriteRequest({
      timeseries: [{ labels: [{ name: 'z', value: '1' }, { name: '__name__', value: 'up' }, { name: 'a', value: '' }], samples: [{ value: 1, timestamp: 5 }] }],
      metadata: [{ type: 1, metric_family_name: 'http_requests_total', help: 'Requests.', unit: '' }],
    });
    const app = recordingAppender();
    decodeWriteRequest(body, app, LIMITS, new Rejections());
    expect(app.rows).toEqual(['[{"name":"__name__","value":"up"},{"name":"z","value":"1"}] 5 1']);
    expect(app.meta).toEqual([['http_requests_total', { type: 'counter', help: 'Requests.', unit: '' }]]);
  });

  it('rejects invalid series and native histograms but keeps the rest', () => {
    const body = encodeWriteRequest({
      timeseries: [
        { labels: [{ name: '__name__', value: 'a' }, { name: 'x', value: '1' }, { name: 'x', value: '2' }], samples: [{ value: 1, timestamp: 1 }] },
        { labels: [{ name: '', value: 'v' }, { name: '__name__', value: 'b' }], samples: [{ value: 1, timestamp: 1 }] },
        { labels: [{ name: 'job', value: 'j' }], samples: [{ value: 1, timestamp: 1 }] },
        { labels: [{ name: '__name__', value: 'h' }], histograms: [{ count_int: 3, sum: 1, schema: 0, timestamp: 1 }] },
        { labels: [{ name: '__name__', value: 'ok' }], samples: [{ value: 2, timestamp: 9 }, { value: 3, timestamp: 8 }] },
      ],
    });
    const app = recordingAppender((_l, t) => (t === 8 ? new AppendError('out_of_order', 'out of order sample') : null));
    const rejections = new Rejections();
    const result = decodeWriteRequest(body, app, LIMITS, rejections);
    expect(result.samplesAppended).toBe(1);
    expect(Object.fromEntries(rejections.byReason)).toEqual({ invalid_labels: 3, native_histograms_unsupported: 1, out_of_order: 1 });
    expect(rejections.firstMessage).toBe('duplicate label name "x" in series {__name__="a", x="1", x="2"}');
  });

  it('throws DecodeError on truncated input at every cut point', () => {
    const body = encodeWriteRequest({
      timeseries: [{ labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'prometheus' }], samples: [{ value: 1, timestamp: 1700000000000 }] }],
    });
    for (let cut = 1; cut < body.length; cut++) {
      expect(() => decodeWriteRequest(body.subarray(0, cut), recordingAppender(), LIMITS, new Rejections()), `cut at ${cut}`).toThrow(DecodeError);
    }
  });

  it('refuses requests with too many series', () => {
    const timeseries = Array.from({ length: 3 }, (_, i) => ({ labels: [{ name: '__name__', value: `m${i}` }], samples: [{ value: 1, timestamp: 1 }] }));
    expect(() => decodeWriteRequest(encodeWriteRequest({ timeseries }), recordingAppender(), { maxSeriesPerRequest: 2 }, new Rejections())).toThrow(
      /remote write: more than 2 series in one request/,
    );
  });
});
