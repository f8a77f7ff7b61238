/**
 * `POST /api/v1/logs`: newline-delimited JSON, one log record a line, as structured loggers write
 * it (a pino destination stream can be piped here unchanged). Query parameters `service`,
 * `environment` and `version` apply to lines that name none. Answers 204 once durable; with some
 * bad lines it stores the good ones and answers 400 naming the bad lines by number.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { ApiError, badData, tooManyRequests } from '../../api/errors.js';
import type { LogRecord } from '../../model/log-record.js';
import type { LogStore } from '../../storage/log-store.js';
import { decodeRequestBody } from '../decode-body.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { logIngestMetricsFor, RecordRejections, storeLogRecords } from '../log-ingest.js';
import { jsonLineToRecord, type JsonLineDefaults } from './json-line-record.js';

export interface JsonLinesRouteOptions {
  readonly logs: LogStore;
  readonly registry: Registry;
  /** Largest decompressed body; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Bytes all requests may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
  /** Clock for observed timestamps (and lines without a time), Unix ms. */
  readonly now?: () => number;
}

const PROTOCOL = 'jsonlines';
const PARAM_RE = /^[\w.\-/:@ ]{1,256}$/;

/** Registers `POST /api/v1/logs` (scope `ingest`); every body type is read raw and judged here. */
export function registerJsonLinesRoutes(app: FastifyInstance, opts: JsonLinesRouteOptions): void {
  const metrics = logIngestMetricsFor(opts.registry);
  const maxDecompressed = opts.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);
  const now = opts.now ?? Date.now;

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    scope.post('/api/v1/logs', { config: { scope: 'ingest' } }, async (req, reply) => {
      let code = 500;
      let reserved = 0;
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        checkContentType(req);
        const defaults = queryDefaults(req);
        if (!budget.tryAcquire(body.length)) throw tooManyRequests('json lines: too many bytes in flight; retry later', 1);
        reserved = body.length;
        const raw = await decodeRequestBody(body, req.headers['content-encoding'], maxDecompressed, 'json lines');
        const text = raw.toString('utf8');
        const rejections = new RecordRejections();
        const observedNs = BigInt(now()) * 1_000_000n;
        const records: LogRecord[] = [];
        let lineNo = 0;
        let total = 0;
        for (const line of text.split('\n')) {
          lineNo++;
          const trimmed = line.trim();
          if (trimmed === '') continue;
          total++;
          const result = jsonLineToRecord(trimmed, defaults, observedNs);
          if (typeof result === 'string') rejections.add(`line ${lineNo}`, result);
          else records.push(result);
        }
        if (total === 0) throw badData('json lines: the body has no log lines (expected one JSON object per line)');
        await storeLogRecords(opts.logs, records);
        metrics.lines.inc({ protocol: PROTOCOL }, records.length);
        if (rejections.count > 0) {
          metrics.rejected.inc({ protocol: PROTOCOL }, rejections.count);
          throw badData(`json lines: ${records.length} lines stored, ${rejections.summary(total, 'lines')}`);
        }
        code = 204;
        return reply.code(204).send();
      } catch (err) {
        if (err instanceof ApiError) code = err.statusCode;
        throw err;
      } finally {
        budget.release(reserved);
        metrics.requests.inc({ protocol: PROTOCOL, code: String(code) });
      }
    });
  });
}

const ACCEPTED_TYPES = new Set(['', 'application/x-ndjson', 'application/jsonl', 'application/json', 'application/jsonlines', 'text/plain', 'application/octet-stream']);

function checkContentType(req: FastifyRequest): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!ACCEPTED_TYPES.has(type)) {
    throw new ApiError(415, 'unsupported_media_type', `json lines: unsupported Content-Type "${type}"; send application/x-ndjson`);
  }
}

function queryDefaults(req: FastifyRequest): JsonLineDefaults {
  const q = req.query as Record<string, unknown>;
  const param = (name: string): string => {
    const v = q[name];
    if (v === undefined) return '';
    if (typeof v !== 'string' || !PARAM_RE.test(v)) throw badData(`json lines: query parameter ${name} must be 1–256 characters of letters, digits and . - _ / : @ or space`);
    return v;
  };
  return { service: param('service'), environment: param('environment'), version: param('version') };
}
