/**
 * `GET /loki/api/v1/tail` (WebSocket): Loki's live tail. On connect it sends up to `limit` recent
 * lines from `start` (default one hour ago), then every newly committed line that matches, as
 * `{"streams":[{"stream":{...},"values":[["<ns>","<line>"]]}],"dropped_entries":null}` frames.
 * A client that does not keep up (more than `maxBufferedBytes` unsent) has lines dropped and
 * reported in `dropped_entries`, so a slow browser cannot grow server memory.
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { LogSelectorExpr } from '../../logql/ast.js';
import { LogQLParseError } from '../../logql/errors.js';
import { LogQLEvaluator } from '../../logql/evaluator.js';
import { parseLogQL } from '../../logql/parser.js';
import { Pipeline } from '../../logql/pipeline.js';
import { labelsKey, labelsToRecord, type Labels } from '../../model/labels.js';
import type { StoredLogRecord } from '../../model/log-record.js';
import type { LogStore } from '../../storage/log-store.js';
import { parseLimit, parseLokiTime, requestParams } from './loki-params.js';
import { streamsJson } from './loki-responses.js';

export interface LokiTailOptions {
  readonly logs: LogStore;
  /** Unsent bytes per connection beyond which new lines are dropped. Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  readonly now?: () => number;
}

/** WebSocket close code for a bad request (policy violation), with the reason as text. */
const CLOSE_INVALID = 1008;

/** Registers the live-tail WebSocket route (scope `read`); registers @fastify/websocket if the app lacks it. */
export async function registerLokiTail(app: FastifyInstance, opts: LokiTailOptions): Promise<void> {
  if (!app.hasDecorator('websocketServer')) await app.register(websocket);
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
  const now = opts.now ?? Date.now;
  const evaluator = new LogQLEvaluator(opts.logs);

  app.get('/loki/api/v1/tail', { websocket: true, config: { scope: 'read' } }, (socket: WebSocket, req) => {
    let expr: LogSelectorExpr;
    let limit: number;
    let startNs: bigint;
    const nowNs = BigInt(Math.floor(now())) * 1_000_000n;
    try {
      const params = requestParams(req);
      const parsed = parseLogQL(params.get('query') ?? '');
      if (parsed.type !== 'log') throw new LogQLParseError('tail needs a log query (a stream selector with an optional pipeline), not a metric query', 0);
      expr = parsed;
      limit = parseLimit(params, 100, 5000);
      startNs = parseLokiTime(params, 'start', nowNs - 3_600_000_000_000n);
    } catch (err) {
      socket.close(CLOSE_INVALID, truncateReason(err instanceof Error ? err.message : String(err)));
      return;
    }
    const pipeline = new Pipeline(expr, { pushDown: false });
    let live = false;
    const early: StoredLogRecord[][] = [];
    const send = (records: readonly StoredLogRecord[]): void => {
      const streams = new Map<string, { labels: Labels; entries: { timeNs: bigint; line: string; record: StoredLogRecord }[] }>();
      const dropped: { labels: Record<string, string>; timestamp: string }[] = [];
      const overloaded = socket.bufferedAmount > maxBuffered;
      for (const r of records) {
        const out = pipeline.process(r);
        if (!out) continue;
        if (overloaded) {
          if (dropped.length < 100) dropped.push({ labels: labelsToRecord(out.labels), timestamp: String(r.timeNs) });
          continue;
        }
        const key = labelsKey(out.labels);
        let s = streams.get(key);
        if (!s) {
          s = { labels: out.labels, entries: [] };
          streams.set(key, s);
        }
        s.entries.push({ timeNs: r.timeNs, line: out.line, record: r });
      }
      if (streams.size === 0 && dropped.length === 0) return;
      socket.send(JSON.stringify({ streams: streamsJson([...streams.values()]), dropped_entries: dropped.length > 0 ? dropped : null }));
    };
    // Subscribe first so no line committed during the history read is missed; hold them until history is sent.
    const unsubscribe = opts.logs.tail(expr.matchers, (records) => {
      if (live) send(records);
      else early.push([...records]);
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    evaluator
      .selectLogs(expr, { startNs, endNs: nowNs, limit, direction: 'backward' })
      .then((streams) => {
        const history = streams.flatMap((s) => s.entries.map((e) => e.record)).sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
        const lastSeq = history.length > 0 ? history[history.length - 1]!.seq : -1n;
        if (history.length > 0) send(history);
        live = true;
        for (const batch of early) send(batch.filter((r) => r.seq > lastSeq));
        early.length = 0;
      })
      .catch((err: Error) => {
        unsubscribe();
        socket.close(CLOSE_INVALID, truncateReason(err.message));
      });
  });
}

/** WebSocket close reasons are limited to 123 bytes. */
function truncateReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '')}...`;
}
