/** Query errors with Prometheus's error types; the HTTP API maps them to status codes. */

export type QueryErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(
    readonly type: QueryErrorType,
    message: string,
  ) {
    super(message);
  }
}

/** An evaluation error (errorType "execution"). */
export const executionError = (message: string): QueryError => new QueryError('execution', message);

export const TOO_MANY_SAMPLES = 'query processing would load too many samples into memory in query execution';
