/**
 * `POST /api/v1/logs`: newline-delimited JSON, one log record a line, as structured loggers write
 * it (a pino destination stream can be piped here unchanged). Query parameters `service`,
 * `environment` and `version` apply to lines that name none. Answers 204 once durable; with some
 * bad lines it stores the good ones and answers 400 naming the bad lines by number.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { ApiError, badData, tooManyRequests, unavailable } from '../../api/errors.js';
import type { LogStore } from '../../storage/log-store.js';
import { decodeRequestBody } from '../decode-body.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { logIngestMetricsFor, toApiError } from '../log-ingest.js';
import type { JsonLineDefaults } from './json-line-record.js';
import { ThreadUnavailableError } from '../../threads/thread-pool.js';
import { JsonLinesDecoderPool } from './json-lines-decoder-pool.js';
import type { DecodedJsonLines } from './json-lines-decoder.js';

export interface JsonLinesRouteOptions {
  readonly logs: LogStore;
  readonly registry: Registry;
  /** Largest decompressed body; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Bytes all requests may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
  /** Clock for observed timestamps (and lines without a time), Unix ms. */
  readonly now?: () => number;
  /** Worker threads decoding bodies; default: the machine's cores less one, between 1 and 4. */
  readonly decoderThreads?: number;
}

const PROTOCOL = 'jsonlines';
const PARAM_RE = /^[\w.\-/:@ ]{1,256}$/;

/**
 * Registers `POST /api/v1/logs` (scope `ingest`); every body type is read raw and judged here.
 * Bodies are decoded in a pool of worker threads, stopped when the app closes.
 */
export function registerJsonLinesRoutes(app: FastifyInstance, opts: JsonLinesRouteOptions): void {
  const metrics = logIngestMetricsFor(opts.registry);
  const decoder = new JsonLinesDecoderPool({ logger: app.log, ...(opts.decoderThreads === undefined ? {} : { threads: opts.decoderThreads }) });
  app.addHook('onClose', () => decoder.close());
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
        const observedNs = BigInt(now()) * 1_000_000n;
        const decoded = await decodeBody(decoder, raw, defaults, observedNs);
        if (decoded.total === 0) throw badData('json lines: the body has no log lines (expected one JSON object per line)');
        const stored = decoded.columns.rowCount;
        if (stored > 0) {
          try {
            await opts.logs.appendColumns(decoded.columns);
          } catch (err) {
            throw toApiError(err);
          }
        }
        metrics.lines.inc({ protocol: PROTOCOL }, stored);
        if (decoded.rejected > 0) {
          metrics.rejected.inc({ protocol: PROTOCOL }, decoded.rejected);
          throw badData(`json lines: ${stored} lines stored, ${decoded.rejectionSummary}`);
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

/** Decodes a body in the pool; a failed or closed decoder thread becomes a 503 with Retry-After. */
async function decodeBody(decoder: JsonLinesDecoderPool, raw: Buffer, defaults: JsonLineDefaults, observedNs: bigint): Promise<DecodedJsonLines> {
  try {
    return await decoder.decode(raw, defaults, observedNs);
  } catch (err) {
    throw err instanceof ThreadUnavailableError ? unavailable(`json lines: ${err.message}; retry later`, 1) : err;
  }
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
