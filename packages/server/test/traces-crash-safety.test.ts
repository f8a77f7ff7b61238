/**
 * SIGKILL during OTLP trace ingestion loses no acknowledged span: a child process serves
 * `POST /v1/traces` on the embedded signal store; every trace answered 200 before the kill must be
 * found whole after reopening the store.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBTraceStore, openSignalStore } from '../src/storage/signal-store/index.js';

const CHILD = resolve(import.meta.dirname, 'support/traces-ingest-child.ts');
const SPANS_PER_TRACE = 20;
const IN_FLIGHT = 4;

const require = createRequire(import.meta.url);
const transformerDir = dirname(require.resolve('@opentelemetry/otlp-transformer/package.json'));
const Request = (
  require(join(transformerDir, 'build/src/generated/root.js')) as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { encode(m: unknown): { finish(): Uint8Array }; fromObject(o: unknown): unknown } } } } } };
  }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const traceId = (n: number): string => `c0ffee00${n.toString(16).padStart(24, '0')}`;

function body(n: number): Buffer {
  const start = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: SPANS_PER_TRACE }, (_, i) => ({
    traceId: Buffer.from(traceId(n), 'hex'),
    spanId: Buffer.from((i + 1).toString(16).padStart(16, '0'), 'hex'),
    name: `op-${i}`,
    kind: 2,
    startTimeUnixNano: (start + BigInt(i)).toString(),
    endTimeUnixNano: (start + BigInt(i) + 1000n).toString(),
    attributes: [{ key: 'request_id', value: { stringValue: `r${n}` } }],
  }));
  const req = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'crash' } }] }, scopeSpans: [{ spans }] }] };
  return Buffer.from(Request.encode(Request.fromObject(req)).finish());
}

describe('trace store crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-traces-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged span when the server is SIGKILLed during ingestion', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<string | number | null>((ok) => child.on('exit', (code, signal) => ok(signal ?? code)));
    const port = await new Promise<number>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`child did not listen within 30 s; stderr: ${stderr}`)), 30_000);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port (\d+)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(Number(m[1]));
        }
      });
    });

    const acked = new Set<number>();
    let next = 0;
    let killed = false;
    const deadline = Date.now() + 30_000;
    const worker = async (): Promise<void> => {
      while (!killed && Date.now() < deadline) {
        const n = next++;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: body(n) });
          if (res.status === 200) acked.add(n);
          if (acked.size >= 40 && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        } catch {
          // Requests in flight when the process dies fail: they were never acknowledged.
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(killed, `acknowledged only ${acked.size} requests; stderr: ${stderr}`).toBe(true);
    expect(await exited).toBe('SIGKILL');

    const signals = await openSignalStore({ dir, logger: pino({ level: 'silent' }), registry: new Registry(), retention: { logsMs: 0, tracesMs: 0, errorsMs: 0 } });
    try {
      const traces = await DuckDBTraceStore.open(signals, { retentionMs: 0 });
      for (const n of acked) expect((await traces.trace(traceId(n))).length, `trace ${n}`).toBe(SPANS_PER_TRACE);
      // Requests are atomic: nothing stored is a fraction of a trace.
      const stats = await traces.stats();
      expect(stats.spans).toBe(stats.traces * SPANS_PER_TRACE);
      expect(stats.traces).toBeGreaterThanOrEqual(acked.size);
    } finally {
      await signals.close();
    }
  }, 90_000);
});
