/**
 * `POST /api/v1/write`: the Prometheus remote write 1.0 receiver. A request is acknowledged (204)
 * only once its samples are committed (durable in the WAL). As in Prometheus's receiver, invalid
 * series and rejected samples (out of order, duplicate, too old) answer 400 so the sender drops
 * rather than retries; unlike Prometheus 1.0's receiver, the valid rest of the request is kept
 * (the behaviour Prometheus adopted for remote write 2.0).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { uncompressSync } from 'snappy';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApiError, badData, tooManyRequests } from '../../../api/errors.js';
import type { Appendable } from '../../../storage/interfaces.js';
import { DecodeError } from '../../protobuf/proto-reader.js';
import { StringInterner } from '../../protobuf/string-interner.js';
import { InFlightBudget } from '../../in-flight-budget.js';
import { ingestMetricsFor } from '../../ingest-metrics.js';
import { Rejections } from '../../rejections.js';
import { snappyDeclaredLength } from './snappy-header.js';
import { SeriesCache } from './series-cache.js';
import { decodeWriteRequest } from './write-request-decoder.js';

export interface RemoteWriteRouteOptions {
  readonly appendable: Appendable;
  readonly logger: Logger;
  /** Registry for the watchkeeper_ingest_* metrics. */
  readonly registry: Registry;
  /** Largest decompressed body accepted; larger declared sizes answer 413 before decompressing. Default 64 MiB. */
  readonly maxDecompressedBytes?: number;
  /** Compressed plus decompressed bytes all requests may hold at once; beyond it 429. Default 256 MiB. */
  readonly maxInFlightBytes?: number;
  /** Series per request above which the request is refused with 400. Default 1,000,000. */
  readonly maxSeriesPerRequest?: number;
  /** Clock in ms, for the "too far in the future" check. Default Date.now. */
  readonly now?: () => number;
}

const PROTOCOL = 'remote_write';
/** How far ahead of the receiver's clock a sample may be, as in Prometheus's receiver. */
export const MAX_AHEAD_MS = 10 * 60 * 1000;
const V1_PROTO = 'prometheus.WriteRequest';

/** Registers `POST /api/v1/write` (scope `ingest`). */
export function registerRemoteWriteRoutes(app: FastifyInstance, opts: RemoteWriteRouteOptions): void {
  const metrics = ingestMetricsFor(opts.registry);
  const log = opts.logger.child({ component: 'remote-write' });
  const maxDecompressed = opts.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const budget = new InFlightBudget(opts.maxInFlightBytes ?? 256 * 1024 * 1024);
  const seriesCache = new SeriesCache();
  const now = opts.now ?? Date.now;
  const maxSeriesPerRequest = opts.maxSeriesPerRequest ?? 1_000_000;
  const interner = new StringInterner();

  app.post('/api/v1/write', { config: { scope: 'ingest' } }, async (req, reply) => {
    let code = 500;
    try {
      checkHeaders(req);
      const body = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw badData('remote write: empty request body');
      const declared = snappyDeclaredLength(body);
      if (declared === null) throw badData('remote write: invalid snappy block: malformed uncompressed-length header');
      if (declared > maxDecompressed) {
        throw new ApiError(413, 'payload_too_large', `remote write: snappy body declares ${declared} uncompressed bytes, more than the limit of ${maxDecompressed}`);
      }
      const reserved = body.length + declared;
      if (!budget.tryAcquire(reserved)) throw tooManyRequests('remote write: too many bytes in flight; retry later', 1);
      try {
        let raw: Buffer;
        try {
          raw = uncompressSync(body, { asBuffer: true }) as Buffer;
        } catch (err) {
          throw badData(`remote write: invalid snappy block: ${(err as Error).message}`);
        }
        const rejections = new Rejections();
        const appender = opts.appendable.appender();
        let result;
        try {
          result = decodeWriteRequest(raw, appender, { maxSeriesPerRequest, interner, seriesCache, maxTime: now() + MAX_AHEAD_MS }, rejections);
        } catch (err) {
          appender.rollback();
          seriesCache.clearRefs();
          if (err instanceof DecodeError) throw badData(err.message);
          throw err;
        }
        try {
          await appender.commit();
        } catch (err) {
          seriesCache.clearRefs();
          throw err;
        }
        metrics.samples.inc({ protocol: PROTOCOL }, result.samplesAppended);
        if (result.exemplarsDropped > 0) metrics.exemplarsDropped.inc(result.exemplarsDropped);
        for (const [reason, n] of rejections.byReason) metrics.rejectedSamples.inc({ protocol: PROTOCOL, reason }, n);
        if (rejections.total > 0) {
          log.warn({ rejected: rejections.total, accepted: result.samplesAppended, first: rejections.firstMessage }, 'remote write samples rejected');
          throw badData(`remote write: ${result.samplesAppended} samples accepted, ${rejections.summary('samples')}`);
        }
      } finally {
        budget.release(reserved);
      }
      code = 204;
      return reply.code(204).send();
    } catch (err) {
      if (err instanceof ApiError) code = err.statusCode;
      throw err;
    } finally {
      metrics.requests.inc({ protocol: PROTOCOL, code: String(code) });
    }
  });
}

/** Accepts remote write 1.0 as Prometheus does (lenient on absent headers); refuses 2.0 and other encodings with 415. */
function checkHeaders(req: FastifyRequest): void {
  const contentType = req.headers['content-type'];
  if (contentType !== undefined) {
    const [media, ...params] = contentType.split(';').map((s) => s.trim());
    if (media?.toLowerCase() !== 'application/x-protobuf') {
      throw new ApiError(415, 'unsupported_media_type', `remote write: expected Content-Type application/x-protobuf, got "${contentType}"`);
    }
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k?.toLowerCase() === 'proto' && v !== V1_PROTO) {
        throw new ApiError(415, 'unsupported_media_type', `remote write: protobuf message "${v ?? ''}" is not supported; only remote write 1.0 (${V1_PROTO}) is accepted`);
      }
    }
  }
  const version = req.headers['x-prometheus-remote-write-version'];
  if (typeof version === 'string' && Number.parseInt(version, 10) >= 2) {
    throw new ApiError(415, 'unsupported_media_type', `remote write: protocol version ${version} is not supported; only remote write 1.0 (version 0.1.0) is accepted`);
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'snappy') {
    throw new ApiError(415, 'unsupported_media_type', `remote write: Content-Encoding "${encoding}" is not supported; only snappy is accepted`);
  }
}
