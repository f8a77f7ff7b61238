/**
 * The stored form of an event's full payload: base64 of its raw-deflated JSON text, in a VARCHAR
 * column that only the issue views read. Events are serialised on the preparation threads
 * (errors/event-preparation.ts), where compressing costs ~30 µs per 10 KB event; the row is then
 * a tenth of the size, which the event loop (copying it across threads and into the appender) and
 * DuckDB (WAL, overflow string blocks, checkpoints) pay for per byte. Rows stored as plain JSON
 * text by the previous version, which always start with `{`, are read too.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ErrorEvent } from '../../../model/error-event.js';

/** Level 1: on event JSON it is as small as the default level within a few per cent, at half the time. */
const DEFLATE_LEVEL = 1;

export function encodePayload(event: ErrorEvent): string {
  return deflateRawSync(JSON.stringify(event), { level: DEFLATE_LEVEL }).toString('base64');
}

/** Reads a stored payload: base64 of raw-deflated JSON, or (rows of the previous version) JSON text. */
export function decodePayload(stored: string): ErrorEvent {
  const json = stored.startsWith('{') ? stored : inflateRawSync(Buffer.from(stored, 'base64')).toString('utf8');
  return JSON.parse(json) as ErrorEvent;
}
