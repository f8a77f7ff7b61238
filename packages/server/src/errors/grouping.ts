/**
 * Grouping: which issue an event belongs to, and the issue's title and culprit. The algorithm is
 * documented in docs/errors-grouping.md. In short, the grouping components are
 *  1. the SDK's `fingerprint`, with `{{ default }}` replaced by the default components; else
 *  2. for an exception chain: each exception's type plus its stack frames' module (or normalised
 *     file name) and function (for anonymous code: its source line when short), in-app frames
 *     only when any frame is in-app; line numbers, columns, memory addresses and minified function
 *     names never count; an exception without frames
 *     contributes its type and normalised value, a synthetic one (a message's stack) its
 *     normalised value and frames but not its type; else
 *  3. the message template (or message) with numbers, hex, UUIDs, timestamps, IPs and e-mail
 *     addresses replaced by placeholders.
 * The fingerprint is the first 128 bits of the SHA-256 of the components, as 32 hex digits.
 */
import { createHash } from 'node:crypto';
import type { ErrorEvent, ExceptionInfo, StackFrame } from '../model/error-event.js';

export interface Grouping {
  readonly fingerprint: string;
  /** The components hashed, for the issue view (why these events are together). */
  readonly components: readonly string[];
  readonly title: string;
  readonly culprit: string;
  /** The main exception's type, or '' for message events. */
  readonly type: string;
}

const DEFAULT_RE = /^\{\{\s*default\s*\}\}$/;

/** Replaces the variable parts of a message so that messages differing only in them group together. */
export function normalizeMessageText(text: string): string {
  return text
    .replace(/\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<date>')
    .replace(/\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b/g, '<time>')
    .replace(/\b\d{4}-\d{2}-\d{2}\b/g, '<date>')
    .replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '<email>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}\b/g, '<ip>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>')
    // Numbers, also with a unit (30s, 3012ms), but not inside names (utf8, v2).
    .replace(/(?<![A-Za-z_<])-?\d+(\.\d+)?/g, '<int>');
}

/** A file name without what changes between builds and hosts: URL origin, query, content hashes. */
export function normalizeFilename(name: string): string {
  let f = name.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
  // bundle.3f2a9c1e.js, main-8d7c6b5a.chunk.js: content hashes differ per build.
  f = f.replace(/([.-])[0-9a-f]{6,}(?=[.-])/gi, '$1<hash>');
  // Versioned dependency paths (node_modules/.pnpm/x@1.2.3, site-packages/x-1.2.3) differ per install.
  f = f.replace(/@\d+\.\d+\.\d+[^/]*/g, '@<version>');
  return f;
}

/** A function name without memory addresses and wrapper prefixes, or '' when it carries no signal. */
export function normalizeFunction(name: string): string {
  let fn = name.replace(/0x[0-9a-f]+/gi, '').replace(/^(async |new )/, '').replace(/^Object\./, '').trim();
  // Minified names (one or two characters, as uglify and terser emit) change with every build.
  if (/^[\w$]{1,2}$/.test(fn) || fn === '?' || fn === '<anonymous>' || fn === 'anonymous') fn = '';
  return fn;
}

/** Longest source line used in place of a missing function name; longer ones are minified code. */
const MAX_CONTEXT_LINE = 120;

/**
 * Memoises a string normaliser: an application's frames repeat from event to event, so each file
 * and function name is normalised once rather than through its regexes per frame per event.
 * Cleared when full, so memory stays bounded.
 */
function memoised(fn: (text: string) => string, max = 20_000): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) => {
    let out = cache.get(text);
    if (out === undefined) {
      if (cache.size >= max) cache.clear();
      out = fn(text);
      cache.set(text, out);
    }
    return out;
  };
}

const cachedFilename = memoised(normalizeFilename);
const cachedFunction = memoised(normalizeFunction);

function frameComponent(f: StackFrame): string {
  const where = f.module || cachedFilename(f.filename || f.absPath);
  const fn = cachedFunction(f.function);
  if (fn !== '') return `${where}|${fn}`;
  // Anonymous code (a callback, a module's top level): its source line tells such frames apart
  // in one file, where a line number would change with every edit above it.
  const line = f.contextLine.trim();
  return line !== '' && line.length <= MAX_CONTEXT_LINE ? `${where}|line:${line}` : `${where}|`;
}

const isSynthetic = (e: ExceptionInfo): boolean => e.mechanism?.synthetic === true;

function exceptionComponents(e: ExceptionInfo): string[] {
  // A synthetic exception only carries a message's stack: its type and value are not the error's.
  const out = isSynthetic(e) ? [] : [`type:${e.type || 'Error'}`];
  const anyInApp = e.frames.some((f) => f.inApp);
  const frames = anyInApp ? e.frames.filter((f) => f.inApp) : e.frames;
  const usable = frames.map(frameComponent).filter((c) => c !== '|');
  if (usable.length === 0 || isSynthetic(e)) out.push(`value:${normalizeMessageText(e.value)}`);
  for (const c of usable) out.push(`frame:${c}`);
  return out;
}

function defaultComponents(event: ErrorEvent): string[] {
  if (event.exceptions.length > 0) return event.exceptions.flatMap(exceptionComponents);
  const text = event.messageTemplate || event.message;
  if (text !== '') return [`message:${normalizeMessageText(text)}`];
  return [`empty:${event.transaction || event.logger || 'event'}`];
}

/** The main exception of a chain: the last one (Sentry lists causes first). */
function mainException(event: ErrorEvent): ExceptionInfo | null {
  return event.exceptions.length > 0 ? event.exceptions[event.exceptions.length - 1]! : null;
}

function culpritOf(event: ErrorEvent, main: ExceptionInfo | null): string {
  if (event.transaction !== '') return event.transaction;
  if (main === null) return event.logger;
  const frames = main.frames;
  let frame: StackFrame | undefined;
  for (let i = frames.length - 1; i >= 0 && frame === undefined; i--) if (frames[i]!.inApp) frame = frames[i];
  frame ??= frames[frames.length - 1];
  if (frame === undefined) return '';
  const where = frame.module || cachedFilename(frame.filename || frame.absPath);
  return frame.function ? `${frame.function}(${where})` : where;
}

function firstLine(text: string, max: number): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Groups one normalised event. */
export function groupEvent(event: ErrorEvent): Grouping {
  let components: string[];
  if (event.fingerprint.length > 0) {
    components = event.fingerprint.flatMap((part) => (DEFAULT_RE.test(part) ? defaultComponents(event) : [`custom:${part}`]));
  } else {
    components = defaultComponents(event);
  }
  // Each component followed by a newline, hashed in one call (the same bytes as one update per component).
  const hash = createHash('sha256').update(components.length > 0 ? `${components.join('\n')}\n` : '');
  const main = mainException(event);
  let title: string;
  if (main !== null && isSynthetic(main)) title = event.message || main.value || '<no message>';
  else if (main !== null) title = main.value ? `${main.type || 'Error'}: ${main.value}` : main.type || 'Error';
  else title = event.message || '<no message>';
  return {
    fingerprint: hash.digest('hex').slice(0, 32),
    components,
    title: firstLine(title, 200),
    culprit: firstLine(culpritOf(event, main), 200),
    type: main !== null && !isSynthetic(main) ? main.type : '',
  };
}
