/**
 * An in-process receiver for what the SDK sends: OTLP/HTTP protobuf traces and logs decoded with the
 * official generated codec (@opentelemetry/otlp-transformer's root), and Sentry envelopes kept as
 * the raw decompressed bytes. Every raw body is kept too, so tests can check what never left.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const transformerDir = dirname(require.resolve('@opentelemetry/otlp-transformer/package.json'));
interface Codec {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options?: Record<string, unknown>): Record<string, unknown>;
}
const root = require(join(transformerDir, 'build/src/generated/root.js')) as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Codec } }; logs: { v1: { ExportLogsServiceRequest: Codec } } } } };
};
const TRACES = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const LOGS = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
const TO_OBJECT = { longs: String, bytes: String, enums: Number, defaults: false };

/** A decoded span, flattened with its resource attributes. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

/** A decoded log record. */
export interface ReceivedLog {
  body: unknown;
  severityText: string;
  traceId: string;
  attributes: Record<string, unknown>;
}

type Attr = { key: string; value: Record<string, unknown> };
const attrs = (list: unknown): Record<string, unknown> => Object.fromEntries(((list as Attr[] | undefined) ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
const hex = (b64: unknown) => Buffer.from(String(b64 ?? ''), 'base64').toString('hex');

/** The receiver: start(), url, spans, logs, envelopes, raw bodies; `up` toggles 503 answers. */
export class TelemetryReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  readonly envelopes: string[] = [];
  readonly rawBodies: string[] = [];
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: a free one). */
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        this.rawBodies.push(body.toString('latin1'));
        try {
          if (req.url === '/v1/traces') this.addTraces(TRACES.toObject(TRACES.decode(body), TO_OBJECT));
          else if (req.url === '/v1/logs') this.addLogs(LOGS.toObject(LOGS.decode(body), TO_OBJECT));
          else if (/^\/api\/\d+\/envelope\/$/.test(req.url ?? '')) this.envelopes.push(body.toString('utf8'));
          else return res.writeHead(404).end();
        } catch (e) {
          return res.writeHead(400).end(String(e));
        }
        res.writeHead(200, { 'content-type': req.url?.startsWith('/v1/') ? 'application/x-protobuf' : 'application/json' }).end(req.url?.startsWith('/v1/') ? '' : '{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise((r) => (s.closeAllConnections(), s.close(r)));
  }

  /** The JSON items of every received envelope (envelope headers excluded). */
  events(): Record<string, unknown>[] {
    return this.envelopes.flatMap((e) => {
      const lines = e.split('\n').filter(Boolean);
      const out: Record<string, unknown>[] = [];
      for (let i = 1; i + 1 < lines.length; i += 2) if ((JSON.parse(lines[i]!) as { type: string }).type === 'event') out.push(JSON.parse(lines[i + 1]!) as Record<string, unknown>);
      return out;
    });
  }

  private addTraces(req: Record<string, unknown>): void {
    for (const rs of (req.resourceSpans as Record<string, unknown>[] | undefined) ?? []) {
      const resource = attrs((rs.resource as Record<string, unknown> | undefined)?.attributes);
      for (const ss of (rs.scopeSpans as Record<string, unknown>[] | undefined) ?? []) {
        for (const s of (ss.spans as Record<string, unknown>[] | undefined) ?? []) {
          this.spans.push({ traceId: hex(s.traceId), spanId: hex(s.spanId), name: String(s.name), kind: Number(s.kind ?? 0), attributes: attrs(s.attributes), resource });
        }
      }
    }
  }

  private addLogs(req: Record<string, unknown>): void {
    for (const rl of (req.resourceLogs as Record<string, unknown>[] | undefined) ?? []) {
      for (const sl of (rl.scopeLogs as Record<string, unknown>[] | undefined) ?? []) {
        for (const l of (sl.logRecords as Record<string, unknown>[] | undefined) ?? []) {
          const body = l.body as Record<string, unknown> | undefined;
          this.logs.push({ body: body ? Object.values(body)[0] : undefined, severityText: String(l.severityText ?? ''), traceId: hex(l.traceId), attributes: attrs(l.attributes) });
        }
      }
    }
  }
}

/** A pino destination collecting lines in memory. */
export function memoryDestination(): { lines: Record<string, unknown>[]; write(line: string): void } {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}

/** Polls `predicate` every 50 ms until true or `timeoutMs` passes (bounded). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return predicate();
}
