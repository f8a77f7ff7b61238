/**
 * Parameters of Tempo's search API: Go durations (minDuration, maxDuration), logfmt `tags`, and
 * Unix-second time bounds. Each parser names the parameter and the offending text on error.
 */
import type { SpanCondition } from '../../storage/trace-store.js';
import { badData } from '../errors.js';

const GO_UNITS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const GO_DURATION_RE = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;

/** A Go duration ("1.5s", "100ms", "1h30m") in nanoseconds, or null when malformed. */
export function parseGoDuration(text: string): number | null {
  if (text === '0') return 0;
  let rest = text;
  let total = 0;
  if (rest === '') return null;
  while (rest !== '') {
    const m = GO_DURATION_RE.exec(rest);
    if (m === null) return null;
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

/** A duration parameter as bigint nanoseconds; undefined when absent. */
export function durationParam(name: string, value: string | undefined): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  const ns = parseGoDuration(value);
  if (ns === null) throw badData(`invalid ${name} ${JSON.stringify(value)}: expected a duration such as 100ms, 1.5s or 2m`);
  return BigInt(ns);
}

/** A Unix-seconds parameter as nanoseconds; `fallback` when absent. */
export function secondsParam(name: string, value: string | undefined, fallback: bigint): bigint {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,12}(\.\d+)?$/.test(value)) throw badData(`invalid ${name} ${JSON.stringify(value)}: expected Unix seconds`);
  return BigInt(Math.round(Number(value) * 1000)) * 1_000_000n;
}

/** A positive integer parameter; `fallback` when absent, capped at `max`. */
export function intParam(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) === 0) throw badData(`invalid ${name} ${JSON.stringify(value)}: expected a positive integer`);
  return Math.min(Number(value), max);
}

/** Splits logfmt text (`a=b c="d e"`) into key/value pairs. */
function parseLogfmt(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && text[i] === ' ') i++;
    if (i >= text.length) break;
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && text[i] !== ' ') i++;
    const key = text.slice(keyStart, i);
    if (key === '' || text[i] !== '=') throw badData(`invalid tags ${JSON.stringify(text)}: expected key=value at position ${keyStart}`);
    i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw badData(`invalid tags ${JSON.stringify(text)}: unterminated quoted value for ${key}`);
        const c = text[i]!;
        if (c === '"') break;
        if (c === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
    } else {
      const start = i;
      while (i < text.length && text[i] !== ' ') i++;
      value = text.slice(start, i);
    }
    out.push([key, value]);
  }
  return out;
}

/**
 * Tempo's legacy tag search as a span condition: every tag must match on one span. `name` is the
 * span name, `status.code` the span status, `error=true` an error status, `service.name` the
 * resource's service; other keys are attributes of either scope compared as text.
 */
export function tagsCondition(text: string): SpanCondition | null {
  let condition: SpanCondition | null = null;
  for (const [key, value] of parseLogfmt(text)) {
    let c: SpanCondition;
    if (key === 'name') c = { op: 'cmp', field: { kind: 'intrinsic', name: 'name' }, cmp: '=', value };
    else if (key === 'status.code') {
      const code = { unset: 0, ok: 1, error: 2 }[value.toLowerCase().replace(/^status_code_/, '')];
      if (code === undefined) throw badData(`invalid tags: status.code must be unset, ok or error, got ${JSON.stringify(value)}`);
      c = { op: 'cmp', field: { kind: 'intrinsic', name: 'status' }, cmp: '=', value: code };
    } else if (key === 'error' && value === 'true') c = { op: 'cmp', field: { kind: 'intrinsic', name: 'status' }, cmp: '=', value: 2 };
    // service.name names the producing service (a resource attribute): its own column, no attribute scan.
    else if (key === 'service.name') c = { op: 'cmp', field: { kind: 'attribute', scope: 'resource', key }, cmp: '=', value };
    else c = { op: 'cmp', field: { kind: 'attribute', scope: 'any', key }, cmp: '=', value };
    condition = condition === null ? c : { op: 'and', left: condition, right: c };
  }
  return condition;
}
