/**
 * Decodes a JSON-lines body into log columns: one record a non-blank line, malformed lines
 * rejected by number. Pure and synchronous, so it runs the same on the event loop and in the
 * decoder pool's worker threads.
 */
import { LogColumnsBuilder, type LogColumns } from '../../storage/log-columns.js';
import { RecordRejections } from '../log-ingest.js';
import { addJsonLineBytes } from './json-line-bytes.js';
import { addJsonLine, type JsonLineDefaults } from './json-line-record.js';

/** A decoded body: the good lines in columns, and how many lines there were and were rejected. */
export interface DecodedJsonLines {
  readonly columns: LogColumns;
  /** Non-blank lines. */
  readonly total: number;
  readonly rejected: number;
  /** `2 of 10 lines rejected: line 3: invalid JSON ...`; '' when none was rejected. */
  readonly rejectionSummary: string;
}

/**
 * Decodes a UTF-8 body, lines split on \n and numbered from 1, blank ones skipped; `observedNs`
 * stamps every line. Lines of the common shape are read from the bytes (addJsonLineBytes), the
 * others decoded to text and parsed (addJsonLine): both give the same records.
 */
export function decodeJsonLines(body: Uint8Array, defaults: JsonLineDefaults, observedNs: bigint): DecodedJsonLines {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let capacity = 1;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) capacity++;
  const out = new LogColumnsBuilder(capacity, bytes.length);
  const rejections = new RecordRejections();
  let lineNo = 0;
  let total = 0;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end === -1) end = bytes.length;
    lineNo++;
    const lineStart = start;
    start = end + 1;
    if (addJsonLineBytes(bytes, lineStart, end, defaults, observedNs, out)) {
      total++;
      continue;
    }
    const line = bytes.toString('utf8', lineStart, end).trim();
    if (line === '') continue;
    total++;
    const reason = addJsonLine(line, defaults, observedNs, out);
    if (reason !== null) rejections.add(`line ${lineNo}`, reason);
  }
  return {
    columns: out.finish(),
    total,
    rejected: rejections.count,
    rejectionSummary: rejections.count > 0 ? rejections.summary(total, 'lines') : '',
  };
}

const NEWLINE = 0x0a;
