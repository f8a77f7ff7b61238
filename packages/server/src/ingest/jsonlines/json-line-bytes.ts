/**
 * The fast path of JSON-line decoding: a line that is one JSON object (what pino, bunyan, winston
 * and most loggers write) is read straight from the request's UTF-8 bytes. The JsonObjectScan
 * validates it and finds its top-level members; body, ids and attributes are then copied as
 * bytes (attributes as the line's own member text, escapes and all), so no JavaScript object or
 * string is built per field. It applies exactly the field rules of addJsonLine
 * (json-line-record.ts), and declines every line whose result it cannot produce the same way
 * (escaped or non-ASCII keys, escapes in a recognised field's value, non-ASCII in one other than
 * the message, non-string ids or messages, upper-case hex ids, a repeated recognised key, a time
 * it cannot parse, ...): the caller then decodes that line with addJsonLine, which also words the
 * reason of a rejected line.
 */
import { canonicalLevel, severityOfLevelNumber, severityOfLevelText, UNKNOWN_SERVICE } from '../../model/log-record.js';
import { BYTE_RANGE_BODY, BYTE_RANGE_REQUEST_ID, BYTE_RANGE_SLOTS, BYTE_RANGE_SPAN_ID, BYTE_RANGE_TRACE_ID, type LogColumnsBuilder } from '../../storage/log-columns.js';
import { hash53Bytes } from '../../storage/signal-store/string-hash.js';
import {
  parseTime,
  producerOf,
  ROLE_COUNT,
  ROLE_ENV,
  ROLE_KEYS,
  ROLE_LEVEL,
  ROLE_MESSAGE,
  ROLE_REQUEST,
  ROLE_SERVICE,
  ROLE_SPAN,
  ROLE_TIME,
  ROLE_TRACE,
  ROLE_VERSION,
  type JsonLineDefaults,
} from './json-line-record.js';
import { JsonObjectScan, KIND_NULL, KIND_NUMBER, KIND_STRING, STRING_ESCAPED } from './json-object-scan.js';

/** A recognised key: its role (or LEVELNO) and preference, and the last line it was seen on. */
interface RoleKey {
  readonly bytes: Uint8Array;
  readonly role: number;
  readonly rank: number;
  seenOnLine: number;
}

/** Python's numeric level field, read when the level field gives no severity; it stays an attribute. */
const LEVELNO = -1;

/** Recognised keys by byte length. */
const KEYS_BY_LENGTH: RoleKey[][] = [];
for (const [role, keys] of ROLE_KEYS.entries()) keys.forEach((key, rank) => addKey(key, role, rank));
addKey('levelno', LEVELNO, 0);

function addKey(key: string, role: number, rank: number): void {
  (KEYS_BY_LENGTH[key.length] ??= []).push({ bytes: Buffer.from(key, 'latin1'), role, rank, seenOnLine: -1 });
}

const scan = new JsonObjectScan();
const chosenMember = new Int32Array(ROLE_COUNT);
const chosenRank = new Int32Array(ROLE_COUNT);
const isChosen = new Uint8Array(scan.capacity);
const ranges = new Int32Array(BYTE_RANGE_SLOTS);
const runs = new Int32Array(2 * scan.capacity);
let lineNumber = 0;

/**
 * Adds the line bytes[start, end) to `out` and returns true, or returns false having added
 * nothing when the line is not of the shape this path reads exactly as addJsonLine would.
 */
export function addJsonLineBytes(bytes: Uint8Array, start: number, end: number, defaults: JsonLineDefaults, observedNs: bigint, out: LogColumnsBuilder): boolean {
  while (start < end && isSpace(bytes[start]!)) start++;
  while (end > start && isSpace(bytes[end - 1]!)) end--;
  if (!scan.scan(bytes, start, end)) return false;
  const line = ++lineNumber;
  chosenMember.fill(-1);
  let levelNo = -1;
  const count = scan.count;
  for (let m = 0; m < count; m++) {
    const key = roleKeyOf(bytes, scan.keyStart[m]!, scan.keyEnd[m]!);
    if (key === null) continue;
    if (key.role === LEVELNO) {
      levelNo = m;
      continue;
    }
    // JSON.parse keeps a repeated key's last value: leave such lines to it.
    if (key.seenOnLine === line) return false;
    key.seenOnLine = line;
    const kind = scan.kind[m]!;
    if (kind === KIND_NULL || (kind === KIND_STRING && scan.valueEnd[m]! - scan.valueStart[m]! === 2)) continue;
    const role = key.role;
    if (chosenMember[role] === -1 || key.rank < chosenRank[role]!) {
      chosenMember[role] = m;
      chosenRank[role] = key.rank;
    }
  }

  let timeNs = observedNs;
  const time = chosenMember[ROLE_TIME]!;
  if (time !== -1) {
    const kind = scan.kind[time];
    if (kind !== KIND_NUMBER && !isPlainString(time)) return false;
    const t = parseTime(kind === KIND_NUMBER ? numberAt(bytes, time) : asciiText(bytes, scan.valueStart[time]! + 1, scan.valueEnd[time]! - 1));
    if (t === null) return false;
    timeNs = t;
  }

  let severity = 0;
  let severityText = '';
  const level = chosenMember[ROLE_LEVEL]!;
  if (level !== -1 && scan.kind[level] === KIND_NUMBER) {
    const n = numberAt(bytes, level);
    severity = severityOfLevelNumber(n, 'pino');
    severityText = String(n);
  } else if (level !== -1 && scan.kind[level] === KIND_STRING) {
    if (!isPlainString(level)) return false;
    severityText = stringAt(bytes, level);
    severity = severityOfLevelText(severityText);
  }
  if (severity === 0 && levelNo !== -1 && scan.kind[levelNo] === KIND_NUMBER) severity = severityOfLevelNumber(numberAt(bytes, levelNo), 'python');

  const message = chosenMember[ROLE_MESSAGE]!;
  if (message === -1) setRange(BYTE_RANGE_BODY, start, end);
  else if (!setStringRange(BYTE_RANGE_BODY, message)) return false;
  if (!setIdRange(bytes, BYTE_RANGE_REQUEST_ID, chosenMember[ROLE_REQUEST]!, false)) return false;
  if (!setIdRange(bytes, BYTE_RANGE_TRACE_ID, chosenMember[ROLE_TRACE]!, true)) return false;
  if (!setIdRange(bytes, BYTE_RANGE_SPAN_ID, chosenMember[ROLE_SPAN]!, true)) return false;
  const service = optionalStringAt(bytes, chosenMember[ROLE_SERVICE]!);
  const environment = optionalStringAt(bytes, chosenMember[ROLE_ENV]!);
  const version = optionalStringAt(bytes, chosenMember[ROLE_VERSION]!);
  if (service === null || environment === null || version === null) return false;

  for (let role = 0; role < ROLE_COUNT; role++) if (chosenMember[role] !== -1) isChosen[chosenMember[role]!] = 1;
  let runCount = 0;
  let runStart = -1;
  for (let m = 0; m < count; m++) {
    if (isChosen[m] === 1) {
      isChosen[m] = 0;
      if (runStart !== -1) {
        runs[2 * runCount] = runStart;
        runs[2 * runCount++ + 1] = scan.valueEnd[m - 1]!;
        runStart = -1;
      }
    } else if (runStart === -1) {
      runStart = scan.keyStart[m]! - 1;
    }
  }
  if (runStart !== -1) {
    runs[2 * runCount] = runStart;
    runs[2 * runCount++ + 1] = scan.valueEnd[count - 1]!;
  }

  const producer = producerOf(service || defaults.service || UNKNOWN_SERVICE, environment || defaults.environment, version || defaults.version);
  out.addBytes(bytes, timeNs, observedNs, producer.stream, producer.resource, severity, canonicalLevel(severity, severityText), severityText, ranges, runs, runCount);
  return true;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The recognised key bytes[start, end) is, or null. */
function roleKeyOf(bytes: Uint8Array, start: number, end: number): RoleKey | null {
  const candidates = KEYS_BY_LENGTH[end - start];
  if (candidates === undefined) return null;
  for (const key of candidates) {
    let k = 0;
    while (k < key.bytes.length && key.bytes[k] === bytes[start + k]) k++;
    if (k === key.bytes.length) return key;
  }
  return null;
}

function setRange(slot: number, start: number, end: number): void {
  ranges[slot] = start;
  ranges[slot + 1] = end;
}

/** Whether member m's value is a string of ASCII characters without escapes. */
function isPlainString(m: number): boolean {
  return scan.kind[m] === KIND_STRING && scan.stringFlags[m] === 0;
}

/** The range of member m's string value without its quotes; false when the value is not a string without escapes. */
function setStringRange(slot: number, m: number): boolean {
  if (scan.kind[m] !== KIND_STRING || (scan.stringFlags[m]! & STRING_ESCAPED) !== 0) return false;
  setRange(slot, scan.valueStart[m]! + 1, scan.valueEnd[m]! - 1);
  return true;
}

/**
 * An id's range (-1 when absent); false when it is not a string, or (`hex`) is hex with an
 * upper-case digit, which addJsonLine lowercases.
 */
function setIdRange(bytes: Uint8Array, slot: number, m: number, hex: boolean): boolean {
  if (m === -1) {
    setRange(slot, -1, -1);
    return true;
  }
  if (!isPlainString(m)) return false;
  setStringRange(slot, m);
  return !hex || !isUpperCaseHex(bytes, ranges[slot]!, ranges[slot + 1]!);
}

function isUpperCaseHex(bytes: Uint8Array, start: number, end: number): boolean {
  let upper = false;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x41 && c <= 0x46) upper = true;
    else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return upper;
}

/** Member m's number value, as JSON.parse reads it. */
function numberAt(bytes: Uint8Array, m: number): number {
  const start = scan.valueStart[m]!;
  const end = scan.valueEnd[m]!;
  // Up to 15 digits are exact in a double: add them up instead of making a string.
  if (end - start <= 15) {
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = bytes[i]! - 0x30;
      if (d < 0 || d > 9) return Number(asciiText(bytes, start, end));
      n = n * 10 + d;
    }
    return n;
  }
  return Number(asciiText(bytes, start, end));
}

/** Member m's string value, when it is a plain string (isPlainString). */
function stringAt(bytes: Uint8Array, m: number): string {
  return cachedText(bytes, scan.valueStart[m]! + 1, scan.valueEnd[m]! - 1);
}

/** Member m's string value, '' when m is -1, null when it is not a plain string (isPlainString). */
function optionalStringAt(bytes: Uint8Array, m: number): string | null {
  if (m === -1) return '';
  return isPlainString(m) ? stringAt(bytes, m) : null;
}

function asciiText(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', start, end);
}

/** Texts that repeat from line to line (levels, service names, environments), by hash. */
const textCache = new Map<number, string>();

/** The ASCII text of bytes[start, end), from the cache when it holds the same text. */
function cachedText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return asciiText(bytes, start, end);
  const hash = hash53Bytes(bytes, start, end);
  const cached = textCache.get(hash);
  if (cached !== undefined && cached.length === end - start) {
    let k = 0;
    while (k < cached.length && cached.charCodeAt(k) === bytes[start + k]) k++;
    if (k === cached.length) return cached;
  }
  const text = asciiText(bytes, start, end);
  if (textCache.size >= 10_000) textCache.clear();
  textCache.set(hash, text);
  return text;
}
