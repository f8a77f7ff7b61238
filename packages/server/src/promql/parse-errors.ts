/** Parse errors in Prometheus's `line:col: parse error: …` form. */
import type { PosRange } from './ast.js';

/** A syntax or semantic error, rendered as Prometheus renders its ParseErr. */
export class ParseError extends Error {
  override readonly name: string = 'ParseError';
  constructor(
    readonly pos: PosRange,
    readonly reason: string,
    query: string,
  ) {
    super(`${positionText(query, pos.start)}: parse error: ${reason}`);
  }
}

/** A query using syntax this engine recognises but does not implement; `feature` names it. */
export class UnsupportedFeatureError extends ParseError {
  override readonly name = 'UnsupportedFeatureError';
  constructor(
    readonly feature: string,
    pos: PosRange,
    query: string,
  ) {
    super(pos, `${feature} is not supported`, query);
  }
}

/** `line:col` (1-based, columns in UTF-16 units of the line) of a position in the query. */
export function positionText(query: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < query.length; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `${line}:${offset - lineStart + 1}`;
}
