/**
 * Helpers for reading a YAML-derived value with a path, so every error names where it is
 * (`route.routes[1].group_wait`); the loader turns the path into a line number.
 */
import { formatPath, parseDuration } from '../../config/index.js';

export type ConfigPath = readonly (string | number)[];

/** A problem at a path in the Alertmanager configuration. */
export class ConfigProblem extends Error {
  override readonly name = 'ConfigProblem';
  constructor(
    readonly path: ConfigPath,
    readonly detail: string,
  ) {
    super(path.length > 0 ? `${formatPath(path)}: ${detail}` : detail);
  }
}

function kind(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/** Reads a mapping, rejecting fields not in `known` (Alertmanager parses strictly). */
export function readMap(v: unknown, path: ConfigPath, known: readonly string[]): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigProblem(path, `expected a mapping, got ${kind(v)}`);
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) throw new ConfigProblem([...path, key], `unknown field "${key}"`);
  }
  return v as Record<string, unknown>;
}

export function readList(v: unknown, path: ConfigPath): unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigProblem(path, `expected a list, got ${kind(v)}`);
  return v;
}

export function readString(v: unknown, path: ConfigPath): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ConfigProblem(path, `expected a string, got ${kind(v)}`);
}

export function readStringList(v: unknown, path: ConfigPath): string[] {
  return readList(v, path).map((e, i) => readString(e, [...path, i]) ?? '');
}

export function readBool(v: unknown, path: ConfigPath): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ConfigProblem(path, `expected true or false, got ${kind(v)}`);
  return v;
}

export function readInt(v: unknown, path: ConfigPath): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigProblem(path, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads a Prometheus-style duration (`30s`, `5m`, `4h`) into milliseconds. */
export function readDuration(v: unknown, path: ConfigPath): number | undefined {
  const s = readString(v, path);
  if (s === undefined) return undefined;
  const ms = parseDuration(s);
  if (ms === null) throw new ConfigProblem(path, `not a valid duration string: ${JSON.stringify(s)}`);
  return ms;
}

/** Reads a string map such as `match:` or `headers:`. */
export function readStringMap(v: unknown, path: ConfigPath): Record<string, string> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigProblem(path, `expected a mapping, got ${kind(v)}`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = readString(val, [...path, k]) ?? '';
  return out;
}

/** Checks that a string is an absolute http(s) URL. */
export function readUrl(v: unknown, path: ConfigPath): string | undefined {
  const s = readString(v, path);
  if (s === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ConfigProblem(path, `invalid URL ${JSON.stringify(s)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigProblem(path, `unsupported scheme "${url.protocol.slice(0, -1)}" for URL`);
  return s;
}
