/** LogQL errors. Both answer 400; `UnsupportedLogQLError` names the construct that is not supported. */

export class LogQLParseError extends Error {
  override readonly name = 'LogQLParseError';
  constructor(
    detail: string,
    /** Character offset in the query. */
    readonly position: number,
  ) {
    super(`parse error at position ${position + 1}: ${detail}`);
  }
}

export class UnsupportedLogQLError extends Error {
  override readonly name = 'UnsupportedLogQLError';
  constructor(
    /** The construct, e.g. "| pattern" or "unwrap". */
    readonly construct: string,
    position: number,
  ) {
    super(`unsupported LogQL at position ${position + 1}: ${construct} is not supported by Watchkeeper's LogQL subset`);
  }
}

/** The query is valid but cannot be run within limits (too many lines or series). */
export class LogQLLimitError extends Error {
  override readonly name = 'LogQLLimitError';
}
