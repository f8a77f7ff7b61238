/**
 * Loading and validating `watchkeeper.yaml`. Errors name the file, the line and the path of the
 * bad field: `watchkeeper.yaml:7: scrape_configs[1].scrape_interval: expected a duration like 15s`.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** Renders a zod path the way a user would write it: `scrape_configs[1].scrape_interval`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function describeType(t: string): string {
  return t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : t === 'undefined' ? 'nothing' : `a ${t}`;
}

const errorMap: z.ZodErrorMap = (issue, ctx) => {
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined') return { message: 'is required' };
      return { message: `expected ${describeType(issue.expected)}, got ${describeType(issue.received)}` };
    case z.ZodIssueCode.invalid_enum_value:
      return { message: `expected one of ${issue.options.map((o) => String(o)).join(', ')}, got ${JSON.stringify(issue.received)}` };
    case z.ZodIssueCode.unrecognized_keys:
      return { message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
    default:
      return { message: ctx.defaultError };
  }
};

/** Line of the key `path` ends with (for unknown fields), else of the deepest node on the path that exists. */
function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[], wantKey: boolean): number | null {
  if (wantKey && path.length > 0) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
      if (pair && isNode(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
    }
  }
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return null;
}

/** Parses and validates configuration text. `fileName` is used in messages only. */
export function parseConfig(text: string, fileName: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const line = lines.linePos(e.pos[0]).line;
        return `${fileName}:${line}: invalid YAML: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const contents = doc.contents;
  const raw: unknown = contents === null ? {} : doc.toJS();
  if (contents !== null && !isMap(contents)) {
    throw new ConfigError([`${fileName}:1: the configuration must be a mapping of sections (server:, storage:, ...)`]);
  }
  const result = configSchema.safeParse(raw ?? {}, { errorMap });
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const path = issue.code === z.ZodIssueCode.unrecognized_keys && issue.keys.length === 1 ? [...issue.path, issue.keys[0]!] : issue.path;
      const line = lineOf(doc, lines, path, issue.code === z.ZodIssueCode.unrecognized_keys);
      const where = `${fileName}${line !== null ? `:${line}` : ''}`;
      const shownPath = issue.code === z.ZodIssueCode.unrecognized_keys ? issue.path : path;
      return `${where}: ${shownPath.length ? `${formatPath(shownPath)}: ` : ''}${issue.message}`;
    }),
  );
}

/** Reads and validates a configuration file. */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${path}: cannot read configuration: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseConfig(text, path);
}

/** The configuration with every default, used when no file is given. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
