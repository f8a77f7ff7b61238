/**
 * Decodes Loki's JSON PushRequest:
 * `{"streams":[{"stream":{"app":"x"},"values":[["<ns since epoch>","<line>",{"trace_id":"..."}]]}]}`
 * (the third element, structured metadata, is optional). A wrong overall shape throws
 * PushShapeError (the whole request is refused); a bad entry is rejected alone.
 */
import type { RecordRejections } from '../log-ingest.js';
import type { LokiEntry, LokiPushRequest, LokiStream } from './push-model.js';

/** The request as a whole is not a Loki push; nothing is stored. */
export class PushShapeError extends Error {
  override readonly name = 'PushShapeError';
}

const NS_RE = /^\d{1,19}$/;

export function decodePushRequestJson(json: unknown, rejections: RecordRejections): LokiPushRequest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new PushShapeError('loki push JSON: expected an object with "streams"');
  const streamsValue = (json as Record<string, unknown>).streams;
  if (!Array.isArray(streamsValue)) throw new PushShapeError('loki push JSON: "streams" must be an array');
  const streams: LokiStream[] = [];
  streamsValue.forEach((sv, si) => {
    const where = `streams[${si}]`;
    if (typeof sv !== 'object' || sv === null || Array.isArray(sv)) throw new PushShapeError(`loki push JSON: ${where} must be an object`);
    const s = sv as Record<string, unknown>;
    const labels = s.stream ?? {};
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new PushShapeError(`loki push JSON: ${where}.stream must be an object of label names to values`);
    const values = s.values ?? [];
    if (!Array.isArray(values)) throw new PushShapeError(`loki push JSON: ${where}.values must be an array`);
    const entries: LokiEntry[] = [];
    values.forEach((v, vi) => {
      const entry = decodeEntry(v);
      if (typeof entry === 'string') rejections.add(`${where}.values[${vi}]`, entry);
      else entries.push(entry);
    });
    streams.push({ labels: labels as Record<string, unknown>, entries });
  });
  return { streams };
}

/** An entry, or the reason it is invalid. */
function decodeEntry(v: unknown): LokiEntry | string {
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) return 'expected ["<timestamp ns>", "<line>"] or ["<timestamp ns>", "<line>", {metadata}]';
  const [ts, line, meta] = v as unknown[];
  if (typeof ts !== 'string' || !NS_RE.test(ts)) return `timestamp must be a string of nanoseconds since the epoch, got ${JSON.stringify(ts)}`;
  if (typeof line !== 'string') return `line must be a string, got ${typeof line}`;
  const metadata: [string, string][] = [];
  if (meta !== undefined) {
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return 'structured metadata must be an object of names to string values';
    for (const [name, value] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof value !== 'string') return `structured metadata "${name}" must be a string`;
      metadata.push([name, value]);
    }
  }
  return { timeNs: BigInt(ts), line, metadata };
}
