import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Span } from '../../model/span.js';
import { Rejections } from '../rejections.js';
import { OtlpTracesReceiver, keepTrace } from './otlp-traces-receiver.js';

const logger = pino({ level: 'silent' });

function span(traceId: string, service: string): Span {
  return {
    traceId,
    spanId: '0102030405060708',
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'op',
    kind: 2,
    startNs: 1n,
    endNs: 2n,
    statusCode: 0,
    statusMessage: '',
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    resource: { attributes: [], droppedAttributesCount: 0 },
    scope: { name: '', version: '', attributes: [] },
    service,
    requestId: '',
  };
}

/** Deterministic, well-spread trace ids. */
const ids = Array.from({ length: 2000 }, (_, i) => (BigInt(i + 1) * 0x9e3779b97f4a7c15n).toString(16).padStart(32, '0').slice(-32));

describe('trace sampling', () => {
  it('keeps a trace by its id consistently, at about the configured rate, monotonic in the rate', () => {
    const kept10 = ids.filter((id) => keepTrace(id, 0.1));
    const kept50 = ids.filter((id) => keepTrace(id, 0.5));
    expect(kept10.length).toBeGreaterThan(120);
    expect(kept10.length).toBeLessThan(280);
    expect(kept50.length).toBeGreaterThan(850);
    expect(kept50.length).toBeLessThan(1150);
    for (const id of kept10) expect(keepTrace(id, 0.5)).toBe(true);
    expect(ids.every((id) => keepTrace(id, 1))).toBe(true);
    expect(ids.some((id) => keepTrace(id, 0))).toBe(false);
  });

  it('stores only sampled traces per service, feeds every span to the span metrics and stored ones to the other observers', async () => {
    const stored: Span[] = [];
    const observed: Span[] = [];
    const afterStore: Span[] = [];
    const receiver = new OtlpTracesReceiver({
      store: { append: async (spans) => void stored.push(...spans) },
      logger,
      registry: new Registry(),
      spanMetrics: { observe: (spans) => void observed.push(...spans) },
      storedObservers: [{ observe: (spans) => void afterStore.push(...spans) }],
      sampling: { defaultRate: 1, perService: { noisy: 0 } },
    });
    const spans = [span(ids[0]!, 'noisy'), span(ids[1]!, 'quiet'), span(ids[2]!, 'noisy')];
    const outcome = await receiver.export({ spans, rejections: new Rejections() }, 'otlp_http');
    expect(outcome).toEqual({ rejected: 0, message: '' });
    expect(stored.map((s) => s.service)).toEqual(['quiet']);
    expect(observed).toHaveLength(3);
    expect(afterStore).toEqual(stored);
  });

  it('prepares two-phase observers before storing and counts only once the store accepted', async () => {
    const steps: string[] = [];
    const observer = {
      observe: () => void steps.push('observe'),
      prepare: (spans: readonly Span[]) => {
        steps.push(`prepare ${spans.length}`);
        return () => void steps.push('counted');
      },
    };
    let fail = true;
    const receiver = new OtlpTracesReceiver({
      store: { append: () => (fail ? Promise.reject(new Error('store is full')) : Promise.resolve()) },
      logger,
      registry: new Registry(),
      spanMetrics: observer,
      storedObservers: [observer],
    });
    const request = () => ({ spans: [span(ids[0]!, 'a'), span(ids[1]!, 'b')], rejections: new Rejections() });
    await expect(receiver.export(request(), 'otlp_http')).rejects.toThrow('store is full');
    expect(steps).toEqual(['prepare 2', 'prepare 2']);
    fail = false;
    steps.length = 0;
    await receiver.export(request(), 'otlp_http');
    expect(steps).toEqual(['prepare 2', 'prepare 2', 'counted', 'counted']);
  });

  it('puts the configured request-id attribute first', () => {
    const receiver = new OtlpTracesReceiver({ store: { append: async () => undefined }, logger, registry: new Registry(), requestIdAttribute: 'request_id' });
    expect(receiver.decodeOptions.requestIdAttributes).toEqual(['request_id', 'http.request.header.x-request-id']);
  });
});
