/**
 * `POST /loki/api/v1/push`: Loki's push API, protobuf (snappy block compressed, as every Loki
 * client sends it) or JSON (optionally gzip-compressed). Answers 204 once the lines are durable.
 * A malformed request stores nothing; a request with some bad streams or entries stores the rest
 * and answers 400 naming the rejected ones (Loki's clients drop, not retry, on 4xx).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { uncompress } from 'snappy';
import type { Registry } from 'prom-client';
import { ApiError, badData, tooManyRequests } from '../../api/errors.js';
import type { LogStore } from '../../storage/log-store.js';
import { decodeRequestBody } from '../decode-body.js';
import { InFlightBudget } from '../in-flight-budget.js';
import { logIngestMetricsFor, RecordRejections, storeLogRecords } from '../log-ingest.js';
import { snappyDeclaredLength } from '../prometheus/remote-write/snappy-header.js';
import { DecodeError } from '../protobuf/proto-reader.js';
import { decodePushRequestJson, PushShapeError } from './push-json-decoder.js';
import type { LokiPushRequest } from './push-model.js';
import { decodePushRequestProto } from './push-proto-decoder.js';
import { pushToRecords } from './push-records.js';

export interface LokiPushRouteOptions {
  readonly logs: LogStore;
  /** Registry for the watchkeeper_ingest_log_* metrics. */
  readonly registry: Registry;
  /** Largest decompressed body; beyond it 413. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Compressed plus decompressed bytes all pushes may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
  /** Clock for observed timestamps, Unix ms. */
  readonly now?: () => number;
}

const PROTOCOL = 'loki_push';

/** Registers `POST /loki/api/v1/push` (scope `ingest`) in its own plugin scope (JSON bodies are read raw). */
export function registerLokiPushRoutes(app: FastifyInstance, opts: LokiPushRouteOptions): void {
  const metrics = logIngestMetricsFor(opts.registry);
  const maxDecompressed = opts.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);
  const now = opts.now ?? Date.now;

  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    scope.post('/loki/api/v1/push', { config: { scope: 'ingest' } }, async (req, reply) => {
      let code = 500;
      let reserved = 0;
      try {
        const body = req.body;
        if (!Buffer.isBuffer(body) || body.length === 0) throw badData('loki push: empty request body');
        const kind = contentKind(req);
        const expected = kind === 'protobuf' ? snappyLength(body, maxDecompressed) : body.length;
        reserved = body.length + expected;
        if (!budget.tryAcquire(reserved)) {
          reserved = 0;
          throw tooManyRequests('loki push: too many bytes in flight; retry later', 1);
        }
        const rejections = new RecordRejections();
        const push = kind === 'protobuf' ? await decodeProto(body) : decodeJson(await decodeRequestBody(body, req.headers['content-encoding'], maxDecompressed, 'loki push'), rejections);
        const records = pushToRecords(push, BigInt(now()) * 1_000_000n, rejections);
        await storeLogRecords(opts.logs, records);
        metrics.lines.inc({ protocol: PROTOCOL }, records.length);
        if (rejections.count > 0) {
          metrics.rejected.inc({ protocol: PROTOCOL }, rejections.count);
          throw badData(`loki push: ${records.length} entries stored, ${rejections.summary(records.length + rejections.count, 'entries')}`);
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

function contentKind(req: FastifyRequest): 'protobuf' | 'json' {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new ApiError(415, 'unsupported_media_type', `loki push: unsupported Content-Type "${req.headers['content-type'] ?? ''}"; use application/x-protobuf (snappy) or application/json`);
}

function snappyLength(body: Buffer, max: number): number {
  const declared = snappyDeclaredLength(body);
  if (declared === null) throw badData('loki push: invalid snappy block: malformed uncompressed-length header');
  if (declared > max) throw new ApiError(413, 'payload_too_large', `loki push: snappy body declares ${declared} uncompressed bytes, more than the limit of ${max}`);
  return declared;
}

async function decodeProto(body: Buffer): Promise<LokiPushRequest> {
  let raw: Buffer;
  try {
    raw = (await uncompress(body, { asBuffer: true })) as Buffer;
  } catch (err) {
    throw badData(`loki push: invalid snappy block: ${(err as Error).message}`);
  }
  try {
    return decodePushRequestProto(raw);
  } catch (err) {
    if (err instanceof DecodeError) throw badData(err.message);
    throw err;
  }
}

function decodeJson(raw: Buffer, rejections: RecordRejections): LokiPushRequest {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw badData(`loki push JSON: invalid JSON: ${(err as Error).message}`);
  }
  try {
    return decodePushRequestJson(json, rejections);
  } catch (err) {
    if (err instanceof PushShapeError) throw badData(err.message);
    throw err;
  }
}
