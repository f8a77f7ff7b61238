/**
 * Parses the label set of a Loki protobuf stream, written in selector syntax: `{app="shop", env="prod"}`.
 * Values are double-quoted (Go escapes) or back-quoted (raw), as Loki's parser accepts.
 */

const NAME_RE = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const DQ_RE = /"(?:[^"\\\n]|\\.)*"/y;
const BQ_RE = /`[^`]*`/y;
const SPACE_RE = /\s*/y;

/** Name/value pairs in order of appearance, or an error message. */
export function parseLabelsText(text: string): [string, string][] | string {
  let pos = 0;
  const skip = (): void => {
    SPACE_RE.lastIndex = pos;
    SPACE_RE.exec(text);
    pos = SPACE_RE.lastIndex;
  };
  skip();
  if (text[pos] !== '{') return `labels ${JSON.stringify(truncate(text))} must start with "{"`;
  pos++;
  const pairs: [string, string][] = [];
  skip();
  if (text[pos] === '}') pos++;
  else {
    for (;;) {
      skip();
      NAME_RE.lastIndex = pos;
      const name = NAME_RE.exec(text);
      if (!name) return `labels ${JSON.stringify(truncate(text))}: expected a label name at offset ${pos}`;
      pos = NAME_RE.lastIndex;
      skip();
      if (text[pos] !== '=' || text[pos + 1] === '~') return `labels ${JSON.stringify(truncate(text))}: expected "=" after ${name[0]} (only equality is allowed in stream labels)`;
      pos++;
      skip();
      const value = readQuoted(text, pos);
      if (value === null) return `labels ${JSON.stringify(truncate(text))}: expected a quoted value for ${name[0]} at offset ${pos}`;
      pairs.push([name[0], value.value]);
      pos = value.end;
      skip();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === '}') {
        pos++;
        break;
      }
      return `labels ${JSON.stringify(truncate(text))}: expected "," or "}" at offset ${pos}`;
    }
  }
  skip();
  if (pos !== text.length) return `labels ${JSON.stringify(truncate(text))}: unexpected text after "}"`;
  return pairs;
}

function readQuoted(text: string, pos: number): { value: string; end: number } | null {
  if (text[pos] === '`') {
    BQ_RE.lastIndex = pos;
    const m = BQ_RE.exec(text);
    return m ? { value: m[0].slice(1, -1), end: BQ_RE.lastIndex } : null;
  }
  if (text[pos] !== '"') return null;
  DQ_RE.lastIndex = pos;
  const m = DQ_RE.exec(text);
  if (!m) return null;
  try {
    // Go's escapes are a superset of JSON's in rarely used places (\a, \v, \x, octal); JSON covers the rest.
    return { value: JSON.parse(m[0]) as string, end: DQ_RE.lastIndex };
  } catch {
    return null;
  }
}

function truncate(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}
