/**
 * The CPU-heavy half of Sentry ingestion as a pure function of one request body, so that it can run
 * on a worker thread (prepare-pool.ts): decompress the body, frame the envelope, and parse,
 * normalise, scrub, group and serialise each event item. What comes back is compact: per event its
 * indexed header, its JSON text and its grouping; other items (sessions, transactions, client
 * reports, ...) as their payload bytes, which the ingestor handles on the main thread as before.
 * Failures are returned, not thrown, each marked with its stage, so the route can still answer in
 * the order it always has: body and framing errors first, then authentication and rate limits,
 * then malformed items (an event's own errors only when events are not dropped by the limit).
 */
import type { GroupedEvent } from '../storage/error-store.js';
import { inflateSync } from 'node:zlib';
import { BodyDecodeError, decodeBody } from '../ingest/decode-body.js';
import { EnvelopeError, parseEnvelope, parseItemJson, type EnvelopeItem } from './envelope.js';
import { toGroupedEvent } from './grouped-event.js';
import { EventError, normalizeEvent } from './normalize.js';
import { Scrubber } from './scrub.js';

/** One request body to prepare. */
export interface PrepareJob {
  /** `envelope`: the envelope endpoint's body; `store`: the legacy store endpoint's single event. */
  readonly kind: 'envelope' | 'store';
  readonly body: Uint8Array;
  readonly contentEncoding: string | undefined;
  /** Largest body accepted after decompression, bytes. */
  readonly maxDecodedBytes: number;
  readonly projectId: number;
  /** The project's extra field names to scrub. */
  readonly scrubFields: readonly string[];
  readonly receivedMs: number;
}

/** The body cannot be read (encoding, framing, not JSON): the status (400, 413, 415) and why. */
export interface BodyFailure {
  readonly ok: false;
  readonly status: number;
  readonly message: string;
}

/**
 * One envelope item after preparation: an `event` ready to store; a payload that is not a JSON
 * object (`bad-payload`, a 400 even when events are dropped); an event that is malformed
 * (`bad-event`, a 400 unless dropped); or any other item `raw`.
 */
export type PreparedItem =
  | { readonly kind: 'event'; readonly type: string; readonly event: GroupedEvent }
  | { readonly kind: 'bad-payload' | 'bad-event'; readonly type: string; readonly message: string }
  | { readonly kind: 'raw'; readonly type: string; readonly headers: Readonly<Record<string, unknown>>; readonly payload: Uint8Array };

export interface PreparedBody {
  readonly ok: true;
  /** The envelope header (`dsn`, `event_id`, ...); empty for a store body. */
  readonly headers: Readonly<Record<string, unknown>>;
  readonly items: readonly PreparedItem[];
}

export type Preparation = PreparedBody | BodyFailure;

/** Item types prepared as events; the others travel raw. */
const EVENT_ITEMS = new Set(['event', 'security']);
/** Distinct scrub-field lists remembered (one per project, in practice). */
const MAX_SCRUBBERS = 256;

/** Scrubbers by project scrub-field list, each keeping its cache of name verdicts across requests. */
export class ScrubberCache {
  private readonly byFields = new Map<string, Scrubber>();

  get(fields: readonly string[]): Scrubber {
    const key = fields.join('\n');
    let s = this.byFields.get(key);
    if (s === undefined) {
      if (this.byFields.size >= MAX_SCRUBBERS) this.byFields.clear();
      s = new Scrubber(fields);
      this.byFields.set(key, s);
    }
    return s;
  }
}

/** Prepares one request body. Throws only on a bug; every malformed input is a returned failure. */
export async function prepareBody(job: PrepareJob, scrubbers: ScrubberCache): Promise<Preparation> {
  let body: Buffer;
  try {
    body = await decodeBody(Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength), job.contentEncoding, job.maxDecodedBytes);
  } catch (err) {
    if (err instanceof BodyDecodeError) return { ok: false, status: err.status, message: err.message };
    throw err;
  }
  const scrubber = scrubbers.get(job.scrubFields);
  if (job.kind === 'store') {
    const payload = storeEventPayload(body, job.maxDecodedBytes);
    if (!payload.ok) return payload;
    return { ok: true, headers: {}, items: [prepareEvent('event', payload.event, job, scrubber)] };
  }
  let envelope;
  try {
    envelope = parseEnvelope(body);
  } catch (err) {
    if (err instanceof EnvelopeError) return { ok: false, status: 400, message: err.message };
    throw err;
  }
  const envelopeEventId = envelope.headers.event_id;
  const items = envelope.items.map((item, i): PreparedItem => {
    if (!EVENT_ITEMS.has(item.type)) return rawItem(item);
    let payload: Record<string, unknown>;
    try {
      payload = parseItemJson(item, i + 1);
    } catch (err) {
      if (err instanceof EnvelopeError) return { kind: 'bad-payload', type: item.type, message: err.message };
      throw err;
    }
    if (payload.event_id === undefined && typeof envelopeEventId === 'string') payload.event_id = envelopeEventId;
    return prepareEvent(item.type, payload, job, scrubber);
  });
  return { ok: true, headers: envelope.headers, items };
}

function prepareEvent(type: string, payload: Record<string, unknown>, job: PrepareJob, scrubber: Scrubber): PreparedItem {
  try {
    const event = normalizeEvent(payload, job.projectId, job.receivedMs);
    // Scrubbed after normalisation, which already dropped what is not kept (source context, SDK
    // metadata), and before grouping, so titles are built from scrubbed text. The event is a
    // fresh plain JSON object owned here.
    scrubber.scrubEvent(event as unknown as Record<string, unknown>);
    return { kind: 'event', type, event: toGroupedEvent(event) };
  } catch (err) {
    if (err instanceof EventError) return { kind: 'bad-event', type, message: err.message };
    throw err;
  }
}

/** A copy of the item's payload bytes alone (a view would carry the whole body across threads). */
function rawItem(item: EnvelopeItem): PreparedItem {
  return { kind: 'raw', type: item.type, headers: item.headers, payload: new Uint8Array(item.payload) };
}

/** The legacy store body: JSON, or (old SDKs) base64 of zlib-deflated JSON. */
function storeEventPayload(body: Buffer, maxBytes: number): { ok: true; event: Record<string, unknown> } | BodyFailure {
  let text = body.toString('utf8').trim();
  if (text === '') return { ok: false, status: 400, message: 'empty body: expected a JSON event' };
  if (!text.startsWith('{')) {
    try {
      text = inflateSync(Buffer.from(text, 'base64'), { maxOutputLength: maxBytes }).toString('utf8');
    } catch (err) {
      if (err instanceof RangeError) return { ok: false, status: 413, message: `the inflated event is larger than the limit of ${maxBytes} bytes` };
      return { ok: false, status: 400, message: 'the body is neither a JSON object nor base64-encoded deflated JSON' };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, status: 400, message: `the event is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, status: 400, message: 'the event must be a JSON object' };
  return { ok: true, event: value as Record<string, unknown> };
}
