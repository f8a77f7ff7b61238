/**
 * One error shape for every API, Prometheus's: {"status":"error","errorType":"...","error":"..."}.
 * Handlers throw ApiError; the server's error handler maps it (and Fastify's own errors) to JSON.
 */
export type ErrorType =
  | 'bad_data'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'unavailable'
  | 'timeout'
  | 'canceled'
  | 'execution'
  | 'internal';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly errorType: ErrorType,
    message: string,
    /** Seconds, sent as Retry-After for 429/503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badData = (message: string): ApiError => new ApiError(400, 'bad_data', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);
export const unavailable = (message: string, retryAfterSeconds = 5): ApiError =>
  new ApiError(503, 'unavailable', message, retryAfterSeconds);
export const tooManyRequests = (message: string, retryAfterSeconds = 5): ApiError =>
  new ApiError(429, 'too_many_requests', message, retryAfterSeconds);

export function errorTypeForStatus(status: number): ErrorType {
  switch (status) {
    case 400:
      return 'bad_data';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'execution';
    case 429:
      return 'too_many_requests';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal' : 'bad_data';
  }
}

export interface ErrorBody {
  status: 'error';
  errorType: ErrorType;
  error: string;
}

export function errorBody(errorType: ErrorType, message: string): ErrorBody {
  return { status: 'error', errorType, error: message };
}
