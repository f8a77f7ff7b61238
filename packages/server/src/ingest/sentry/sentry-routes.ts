/**
 * The Sentry ingestion endpoints every official SDK posts to: `POST /api/<project>/envelope/` and
 * the legacy `POST /api/<project>/store/`. They authenticate with the project's public key
 * themselves (query `sentry_key`, `X-Sentry-Auth`, or the envelope header's DSN), so the routes are
 * `public` to the token gate. Bodies may be gzip/deflate/brotli-compressed and chunked; browsers
 * get CORS answers; rate limits answer as Relay does (429, Retry-After, X-Sentry-Rate-Limits).
 * Bodies are prepared (decoded, framed, events parsed, scrubbed, normalised and grouped) on worker
 * threads, which the routes start and stop with the server.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badData, errorTypeForStatus, unavailable } from '../../api/errors.js';
import { EnvelopeError } from '../../errors/envelope.js';
import type { ErrorIngestor } from '../../errors/error-ingestor.js';
import type { PrepareJob, PreparedBody } from '../../errors/event-preparation.js';
import { EventError } from '../../errors/normalize.js';
import { createEventPreparer, defaultPrepareThreads, type EventPreparer } from '../../errors/prepare-pool.js';
import { ThreadUnavailableError } from '../../threads/thread-pool.js';
import type { Project, ProjectRegistry } from '../../errors/projects.js';
import type { ProjectRateLimiter } from '../../errors/rate-limiter.js';
import { keyFromAuthHeader, keyFromDsn, projectFromDsn } from '../../errors/sentry-auth.js';
import { StoreClosedError, StoreOverloadedError } from '../../storage/signal-store/write-queue.js';

export interface SentryIngestDeps {
  readonly ingestor: ErrorIngestor;
  /** The current projects; called per request so a reload (a revoked key) applies at once. */
  readonly projects: () => ProjectRegistry;
  readonly rateLimiter: ProjectRateLimiter;
  /** Largest body accepted after decompression, bytes. */
  readonly maxDecodedBytes: number;
  /** Threads preparing bodies; 0 prepares on the event loop. Default: prepare-pool.ts defaultPrepareThreads. */
  readonly prepareThreads?: number;
  /** Prepares bodies instead of a pool of `prepareThreads` threads; the caller closes it. */
  readonly preparer?: EventPreparer;
}

/** Item types that count against a project's event rate limit. */
const LIMITED_ITEMS = new Set(['event', 'transaction', 'security']);
/** The categories a 429 names, so SDKs stop sending exactly these for the given time. */
const LIMITED_CATEGORIES = 'error;default;transaction;security';
const CORS_ALLOW_HEADERS = 'x-sentry-auth, content-type, content-encoding, sentry-trace, baggage, x-requested-with';
const CORS_EXPOSE_HEADERS = 'x-sentry-error, x-sentry-rate-limits, retry-after';

function setCors(req: FastifyRequest, reply: FastifyReply): void {
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return;
  reply.header('Access-Control-Allow-Origin', origin);
  reply.header('Vary', 'Origin');
  reply.header('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
}

function projectIdOf(req: FastifyRequest): number {
  const raw = (req.params as { projectId: string }).projectId;
  if (!/^\d{1,9}$/.test(raw)) throw badData(`invalid project id "${raw.slice(0, 32)}": expected a number`);
  return Number(raw);
}

/** A key from the query string or the X-Sentry-Auth header, or null (the envelope's DSN may carry it). */
function requestKey(req: FastifyRequest): string | null {
  const q = (req.query as Record<string, unknown>).sentry_key;
  if (typeof q === 'string' && q !== '') return q;
  const header = req.headers['x-sentry-auth'];
  return keyFromAuthHeader(typeof header === 'string' ? header : undefined);
}

function authenticate(deps: SentryIngestDeps, projectId: number, key: string | null): Project {
  const check = deps.projects().authenticate(projectId, key);
  if (!check.ok) throw new ApiError(check.status, errorTypeForStatus(check.status), check.message);
  return check.project;
}

/** Prepares the request's body (prepare-pool.ts); a body that cannot be read is answered with its status. */
async function preparedBody(deps: SentryIngestDeps, preparer: EventPreparer, req: FastifyRequest, kind: PrepareJob['kind'], projectId: number, receivedMs: number): Promise<PreparedBody> {
  const raw = req.body;
  const body = Buffer.isBuffer(raw) ? raw : typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.alloc(0);
  const encoding = req.headers['content-encoding'];
  let prepared;
  try {
    prepared = await preparer.prepare({
      kind,
      body,
      contentEncoding: typeof encoding === 'string' ? encoding : undefined,
      maxDecodedBytes: deps.maxDecodedBytes,
      projectId,
      // The project the URL names: authentication (by the envelope's DSN, perhaps) is checked against it later.
      scrubFields: deps.projects().get(projectId)?.scrubFields ?? [],
      receivedMs,
    });
  } catch (err) {
    throw toApiError(err);
  }
  if (!prepared.ok) throw new ApiError(prepared.status, errorTypeForStatus(prepared.status), prepared.message);
  return prepared;
}

/** Maps ingest failures to the statuses SDKs understand; the reason also goes in X-Sentry-Error. */
function toApiError(err: unknown): unknown {
  if (err instanceof EnvelopeError || err instanceof EventError) return badData(err.message);
  if (err instanceof StoreOverloadedError) return new ApiError(429, 'too_many_requests', err.message, err.retryAfterSeconds);
  if (err instanceof StoreClosedError || err instanceof ThreadUnavailableError) return unavailable(err.message);
  return err;
}

export function registerSentryIngestRoutes(app: FastifyInstance, deps: SentryIngestDeps): void {
  let preparer = deps.preparer;
  if (preparer === undefined) {
    const own = createEventPreparer(deps.prepareThreads ?? defaultPrepareThreads(), app.log);
    app.addHook('onClose', async () => own.close());
    preparer = own;
  }
  void app.register(async (scope) => {
    // SDKs send envelopes with no, or a misleading, content type (browsers use text/plain to avoid
    // a preflight): every body is read raw here and judged by the route.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
    scope.addHook('onRequest', (req, reply, done) => {
      setCors(req, reply);
      done();
    });
    scope.addHook('onSend', (_req, reply, payload, done) => {
      if (reply.statusCode >= 400 && typeof payload === 'string' && !reply.hasHeader('x-sentry-error')) {
        try {
          const error = (JSON.parse(payload) as { error?: unknown }).error;
          if (typeof error === 'string') reply.header('X-Sentry-Error', error.replace(/[\r\n]+/g, ' ').slice(0, 512));
        } catch {
          // Not our JSON error body; nothing to mirror.
        }
      }
      done(null, payload);
    });

    const preflight = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      reply.header('Access-Control-Allow-Origin', typeof req.headers.origin === 'string' ? req.headers.origin : '*');
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      const requested = req.headers['access-control-request-headers'];
      reply.header('Access-Control-Allow-Headers', typeof requested === 'string' && requested !== '' ? requested : CORS_ALLOW_HEADERS);
      reply.header('Access-Control-Max-Age', '86400');
      await reply.code(204).send();
    };

    const envelope = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const projectId = projectIdOf(req);
      let key = requestKey(req);
      // Refuse a known-bad key before spending time on the body.
      if (key !== null) authenticate(deps, projectId, key);
      const receivedMs = deps.ingestor.now();
      const env = await preparedBody(deps, preparer, req, 'envelope', projectId, receivedMs);
      if (key === null) {
        key = keyFromDsn(env.headers.dsn);
        const dsnProject = projectFromDsn(env.headers.dsn);
        if (dsnProject !== null && dsnProject !== projectId) throw new ApiError(403, 'forbidden', `the envelope DSN names project ${dsnProject}, not ${projectId}`);
      }
      const project = authenticate(deps, projectId, key);
      const limited = env.items.filter((i) => LIMITED_ITEMS.has(i.type)).length;
      const decision = deps.rateLimiter.take(project.id, limited, project.rateLimitPerMinute);
      let dropEvents = false;
      if (!decision.ok) {
        reply.header('X-Sentry-Rate-Limits', `${decision.retryAfterSeconds}:${LIMITED_CATEGORIES}:project:project_quota`);
        // Other items (sessions, client reports) are still taken, as Relay does; only events are refused.
        if (limited === env.items.length) {
          throw new ApiError(429, 'too_many_requests', `project ${project.id} is over its limit of ${project.rateLimitPerMinute} events per minute`, decision.retryAfterSeconds);
        }
        dropEvents = true;
      }
      try {
        const prepared = deps.ingestor.prepareEnvelope(project, env, dropEvents, receivedMs);
        await deps.ingestor.store(project, prepared);
        const id = prepared.events[0]?.header.eventId ?? (typeof env.headers.event_id === 'string' ? env.headers.event_id : undefined);
        return id === undefined ? {} : { id };
      } catch (err) {
        throw toApiError(err);
      }
    };

    const store = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const projectId = projectIdOf(req);
      const project = authenticate(deps, projectId, requestKey(req));
      // A store body is one event: the limit is taken before the body costs anything to prepare.
      const decision = deps.rateLimiter.take(project.id, 1, project.rateLimitPerMinute);
      if (!decision.ok) {
        reply.header('X-Sentry-Rate-Limits', `${decision.retryAfterSeconds}:${LIMITED_CATEGORIES}:project:project_quota`);
        throw new ApiError(429, 'too_many_requests', `project ${project.id} is over its limit of ${project.rateLimitPerMinute} events per minute`, decision.retryAfterSeconds);
      }
      const receivedMs = deps.ingestor.now();
      const body = await preparedBody(deps, preparer, req, 'store', projectId, receivedMs);
      try {
        const prepared = deps.ingestor.prepareEnvelope(project, body, false, receivedMs);
        await deps.ingestor.store(project, prepared);
        return { id: prepared.events[0]!.header.eventId };
      } catch (err) {
        throw toApiError(err);
      }
    };

    for (const path of ['/api/:projectId/envelope/', '/api/:projectId/envelope']) {
      scope.post(path, { config: { scope: 'public' } }, envelope);
      scope.options(path, { config: { scope: 'public' } }, preflight);
    }
    for (const path of ['/api/:projectId/store/', '/api/:projectId/store']) {
      scope.post(path, { config: { scope: 'public' } }, store);
      scope.options(path, { config: { scope: 'public' } }, preflight);
    }
  });
}
