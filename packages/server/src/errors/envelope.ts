/**
 * The Sentry envelope format (https://develop.sentry.dev/sdk/data-model/envelopes/): a JSON header
 * line, then items, each a JSON header line and a payload. A payload is either exactly `length`
 * bytes (then an optional newline) or, without `length`, everything up to the next newline.
 * Parsing never throws anything but EnvelopeError, whose message says what is wrong and where.
 */

/** The envelope is malformed; the message is sent back to the client with a 400. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export interface EnvelopeItem {
  readonly type: string;
  readonly headers: Readonly<Record<string, unknown>>;
  /** The payload bytes, a view into the request body. */
  readonly payload: Buffer;
}

export interface Envelope {
  readonly headers: Readonly<Record<string, unknown>>;
  readonly items: readonly EnvelopeItem[];
}

/** Bounds that keep one request from costing unbounded work. */
const MAX_ENVELOPE_ITEMS = 1000;
const NEWLINE = 0x0a;

function parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new EnvelopeError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EnvelopeError(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function lineEnd(body: Buffer, from: number): number {
  const nl = body.indexOf(NEWLINE, from);
  return nl < 0 ? body.length : nl;
}

/** Parses an envelope body (already decompressed). */
export function parseEnvelope(body: Buffer): Envelope {
  if (body.length === 0) throw new EnvelopeError('empty envelope: expected a JSON header line');
  let pos = 0;
  let end = lineEnd(body, pos);
  const headers = parseJsonObject(body.subarray(pos, end), 'envelope header (line 1)');
  pos = end + 1;
  const items: EnvelopeItem[] = [];
  while (pos < body.length) {
    end = lineEnd(body, pos);
    // Blank lines between items (a trailing newline after the last payload) carry nothing.
    if (end === pos || (end === pos + 1 && body[pos] === 0x0d)) {
      pos = end + 1;
      continue;
    }
    const index = items.length + 1;
    if (index > MAX_ENVELOPE_ITEMS) throw new EnvelopeError(`envelope has more than ${MAX_ENVELOPE_ITEMS} items`);
    const itemHeaders = parseJsonObject(body.subarray(pos, end), `item ${index} header`);
    const type = itemHeaders.type;
    if (typeof type !== 'string' || type === '') throw new EnvelopeError(`item ${index} header has no "type" string`);
    pos = end + 1;
    const length = itemHeaders.length;
    let payload: Buffer;
    if (length !== undefined && length !== null) {
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
        throw new EnvelopeError(`item ${index} (${type}) has an invalid "length": expected a non-negative integer`);
      }
      if (pos + length > body.length) {
        throw new EnvelopeError(`item ${index} (${type}) declares ${length} bytes but only ${Math.max(0, body.length - pos)} remain`);
      }
      payload = body.subarray(pos, pos + length);
      pos += length;
      if (pos < body.length) {
        if (body[pos] !== NEWLINE) throw new EnvelopeError(`item ${index} (${type}): expected a newline after its ${length}-byte payload`);
        pos++;
      }
    } else {
      if (pos > body.length) throw new EnvelopeError(`item ${index} (${type}) has a header but no payload`);
      end = lineEnd(body, pos);
      payload = body.subarray(pos, end);
      pos = end + 1;
    }
    items.push({ type, headers: itemHeaders, payload });
  }
  return { headers, items };
}

/** Parses a payload that must be a JSON object (event, transaction, session). */
export function parseItemJson(item: EnvelopeItem, index: number): Record<string, unknown> {
  if (item.payload.length === 0) throw new EnvelopeError(`item ${index} (${item.type}) has an empty payload`);
  return parseJsonObject(item.payload, `item ${index} (${item.type}) payload`);
}
