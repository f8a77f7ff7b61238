/**
 * The stored form of an event's full payload: its JSON text in a VARCHAR column. Only the issue
 * views read it. Payloads were stored raw-deflated and base64-encoded before; compressing a 5–50 KB
 * event cost the ingest path's busiest thread about as much as parsing it (deflate plus a zlib
 * stream object per event), while a text of twice the length costs the writer only a longer copy,
 * so ingest now stores the text and pays in disk instead (about 2×). Rows of either form are read.
 */
import { inflateRawSync } from 'node:zlib';
import type { ErrorEvent } from '../../../model/error-event.js';

export function encodePayload(event: ErrorEvent): string {
  return JSON.stringify(event);
}

/** Reads a stored payload: JSON text, or (rows written before) base64 of raw-deflated JSON, which never starts with `{`. */
export function decodePayload(stored: string): ErrorEvent {
  const json = stored.startsWith('{') ? stored : inflateRawSync(Buffer.from(stored, 'base64')).toString('utf8');
  return JSON.parse(json) as ErrorEvent;
}
