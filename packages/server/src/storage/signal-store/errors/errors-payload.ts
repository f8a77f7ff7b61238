/**
 * The stored form of an event's full payload: its JSON, raw-deflated and base64-encoded in a
 * VARCHAR column. Event payloads are large (20–40 stack frames, breadcrumbs: 5–50 KB) and
 * compress 3–4×; DuckDB's cost of appending and committing a string grows with its length, so
 * compressing on the way in is cheaper overall than storing the text. Only the issue views read it.
 */
import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import type { ErrorEvent } from '../../../model/error-event.js';

/** Fast compression: ingest throughput matters more than the last percent of size. */
const LEVEL = 1;
const deflateRawAsync = promisify(deflateRaw);

/** Encodes off the event loop (zlib's thread pool), which is the ingest path's busiest thread. */
export async function encodePayload(event: ErrorEvent): Promise<string> {
  return (await deflateRawAsync(JSON.stringify(event), { level: LEVEL })).toString('base64');
}

export function decodePayload(stored: string): ErrorEvent {
  return JSON.parse(inflateRawSync(Buffer.from(stored, 'base64')).toString('utf8')) as ErrorEvent;
}
