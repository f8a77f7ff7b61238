/**
 * Decodes a JSON-lines body into log columns: one record a non-blank line, malformed lines
 * rejected by number. Pure and synchronous, so it runs the same on the event loop and in the
 * decoder pool's worker threads.
 */
import { LogColumnsBuilder, type LogColumns } from '../../storage/log-columns.js';
import { RecordRejections } from '../log-ingest.js';
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

/** Decodes `text` (lines split on \n, numbered from 1, blank ones skipped); `observedNs` stamps every line. */
export function decodeJsonLines(text: string, defaults: JsonLineDefaults, observedNs: bigint): DecodedJsonLines {
  let capacity = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) capacity++;
  const out = new LogColumnsBuilder(capacity, text.length);
  const rejections = new RecordRejections();
  let lineNo = 0;
  let total = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNo++;
    const line = lineAt(text, start, end);
    start = end + 1;
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

/** The line between two offsets, trimmed; a line starting and ending with a brace needs no trim. */
function lineAt(text: string, start: number, end: number): string {
  if (end > start && text.charCodeAt(start) === 0x7b && text.charCodeAt(end - 1) === 0x7d) return text.slice(start, end);
  return text.slice(start, end).trim();
}
