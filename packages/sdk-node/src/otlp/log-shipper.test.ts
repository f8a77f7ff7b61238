/**
 * Log lines as OTLP records (decoded with the official generated codec) and the bounded export
 * queue: batches, drops counted by reason, flush, exports outside requests.
 */
import { trace } from '@opentelemetry/api';
import { ExportResultCode, isTracingSuppressed, type ExportResult } from '@opentelemetry/core';
import type { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExportQueue, ItemBatch } from './export-queue.js';
import { LogBatch, type QueuedLine } from './log-shipper.js';
import { contextManager, requestStore, withRequest } from '../request-context.js';
import { LEAN_ROOT_CONTEXT } from '../tracing/lean-context.js';

const require = createRequire(import.meta.url);
interface Codec {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options?: Record<string, unknown>): Record<string, unknown>;
}
const root = require(join(dirname(require.resolve('@opentelemetry/otlp-transformer/package.json')), 'build/src/generated/root.js')) as {
  opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: Codec } } } } };
};
const LOGS = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const queued = (line: string, level = 30, extra: Partial<QueuedLine> = {}): QueuedLine => ({ line, level, timeMs: 1_700_000_000_123, traceId: undefined, spanId: undefined, traceFlags: 0, ...extra });

describe('LogBatch', () => {
  it('writes the message as body, other fields as attributes, level as severity and the span context', () => {
    const longMessage = `prix: ${'€'.repeat(200)}`;
    const line = JSON.stringify({ level: 'warn', timestamp: '2023-11-14T22:13:20.123Z', service: 'shop', version: '1', environment: 'test', logger: 'shop', request_id: 'req-1', trace_id: TRACE_ID, span_id: SPAN_ID, user: '42', count: 3, ok: true, cart: { items: 2 }, message: 'stock is low' });
    const resource = resourceFromAttributes({ 'service.name': 'shop' });
    const batch = new LogBatch(resource);
    for (const q of [queued(line, 40, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }), queued('not json at all'), queued(JSON.stringify({ message: longMessage }), 50)]) batch.add(q);
    const req = decodedLogs(batch.take()) as {
      resourceLogs: { resource: { attributes: unknown[] }; scopeLogs: { scope: { name: string }; logRecords: Record<string, unknown>[] }[] }[];
    };
    const rl = req.resourceLogs[0]!;
    expect(rl.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'shop' } }]);
    expect(rl.scopeLogs[0]!.scope.name).toBe('@watchkeeper/node');
    const [warn, plain, error] = rl.scopeLogs[0]!.logRecords;
    expect(warn).toEqual({
      timeUnixNano: '1700000000123000000',
      observedTimeUnixNano: '1700000000123000000',
      severityNumber: 13,
      severityText: 'WARN',
      body: { stringValue: 'stock is low' },
      attributes: [
        { key: 'logger', value: { stringValue: 'shop' } },
        { key: 'request_id', value: { stringValue: 'req-1' } },
        { key: 'user', value: { stringValue: '42' } },
        { key: 'count', value: { intValue: '3' } },
        { key: 'ok', value: { boolValue: true } },
        { key: 'cart', value: { stringValue: '{"items":2}' } },
      ],
      flags: 1,
      traceId: Buffer.from(TRACE_ID, 'hex').toString('base64'),
      spanId: Buffer.from(SPAN_ID, 'hex').toString('base64'),
    });
    expect(plain).toMatchObject({ severityNumber: 9, severityText: 'INFO', body: { stringValue: 'not json at all' } });
    expect(plain!.traceId).toBeUndefined();
    expect(error).toMatchObject({ severityNumber: 17, severityText: 'ERROR', body: { stringValue: longMessage } });

    // The writer is reused: the next batch holds only its own lines, and an empty one no record.
    batch.add(queued('{"message":"next"}'));
    expect(decodedLogs(batch.take()).resourceLogs[0]!.scopeLogs[0]!.logRecords!.map((r) => r.body)).toEqual([{ stringValue: 'next' }]);
    expect(decodedLogs(batch.take()).resourceLogs[0]!.scopeLogs[0]!.logRecords).toBeUndefined();
  });
});

const decodedLogs = (bytes: Uint8Array) =>
  LOGS.toObject(LOGS.decode(bytes), { longs: String, bytes: String, enums: Number, defaults: false }) as {
    resourceLogs: { scopeLogs: { logRecords?: Record<string, unknown>[] }[] }[];
  };

/** An exporter that records batches and answers with the next queued result when told to. */
function fakeExporter() {
  const batches: QueuedLine[][] = [];
  const callbacks: ((r: ExportResult) => void)[] = [];
  const exporter = {
    export(items: QueuedLine[], done: (r: ExportResult) => void) {
      batches.push(items);
      callbacks.push(done);
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  } as unknown as OTLPExporterBase<QueuedLine[]>;
  const answer = (code: ExportResultCode) => callbacks.splice(0).forEach((cb) => cb({ code }));
  return { exporter, batches, answer };
}

describe('ExportQueue', () => {
  it('exports in batches, drops beyond the queue bound until exports finish, and counts failures', async () => {
    const { exporter, batches, answer } = fakeExporter();
    const drops: [string, number][] = [];
    const shipper = new ExportQueue({ batch: new ItemBatch<QueuedLine>(), exporter, maxQueueSize: 5, maxBatchSize: 2, delayMs: 60_000, onDrop: (reason, n) => drops.push([reason, n]) });
    for (let i = 0; i < 7; i++) shipper.push(queued(`{"message":"line ${i}"}`));
    // Two full batches went out at once; the fifth line waits for the timer; lines six and seven found the queue full.
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    expect(drops).toEqual([
      ['queue_full', 1],
      ['queue_full', 1],
    ]);
    const flushed = shipper.flush();
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1]);
    answer(ExportResultCode.FAILED);
    await flushed;
    expect(drops).toContainEqual(['export_failed', 2]);
    expect(drops.filter(([r]) => r === 'export_failed').reduce((n, [, c]) => n + c, 0)).toBe(5);
    // The failed lines no longer count against the bound.
    shipper.push(queued('{"message":"after"}'));
    await Promise.resolve();
    expect(drops.filter(([r]) => r === 'queue_full')).toHaveLength(2);
    const second = shipper.flush();
    answer(ExportResultCode.SUCCESS);
    await second;
    expect(batches.at(-1)!.map((q) => q.line)).toEqual(['{"message":"after"}']);
  });

  it('counts an item its batch cannot take as unencodable, outside the bound', async () => {
    const { exporter, batches, answer } = fakeExporter();
    const drops: [string, number][] = [];
    const items = new ItemBatch<QueuedLine>();
    const batch = { add: (q: QueuedLine) => !q.line.includes('bad') && items.add(q), take: () => items.take() };
    const shipper = new ExportQueue({ batch, exporter, maxQueueSize: 2, maxBatchSize: 2, delayMs: 60_000, onDrop: (reason, n) => drops.push([reason, n]) });
    for (const text of ['one', 'bad', 'two']) shipper.push(queued(`{"message":"${text}"}`));
    expect(drops).toEqual([['unencodable', 1]]);
    expect(batches.map((b) => b.map((q) => q.line))).toEqual([['{"message":"one"}', '{"message":"two"}']]);
    answer(ExportResultCode.SUCCESS);
    await shipper.flush();
  });

  it('exports outside the request that filled the batch, with tracing suppressed', () => {
    const seen: { span: unknown; request: unknown; suppressed: boolean }[] = [];
    const exporter = {
      export: (_lines: QueuedLine[], done: (r: { code: ExportResultCode }) => void) => {
        seen.push({ span: trace.getSpan(contextManager.active()), request: requestStore.getStore(), suppressed: isTracingSuppressed(contextManager.active()) });
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: async () => {},
    };
    const shipper = new ExportQueue({ batch: new ItemBatch<QueuedLine>(), exporter, maxQueueSize: 5, maxBatchSize: 1, delayMs: 60_000, onDrop: () => {} });
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    const request = { requestId: 'r1', method: 'GET', url: '/', headers: {}, route: null };
    contextManager.with(withRequest(trace.setSpan(LEAN_ROOT_CONTEXT, span), request), () => shipper.push(queued('{"message":"in a request"}')));
    expect(seen).toEqual([{ span: undefined, request: undefined, suppressed: true }]);
  });
});
