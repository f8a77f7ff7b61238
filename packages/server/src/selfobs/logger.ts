/**
 * The root pino logger. Every line carries `component` (from child bindings) and, while a
 * request is being served, that request's `request_id`, taken from AsyncLocalStorage so code
 * deep in a call chain need not pass it along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export interface RequestContext {
  readonly requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export type { Logger };

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // Components add `component` with logger.child({ component }) from this root logger.
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'msg',
      mixin() {
        const ctx = requestContext.getStore();
        return ctx ? { request_id: ctx.requestId } : {};
      },
      // Secrets never reach the log, even if a caller logs a whole request or config object.
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          '*.token',
          '*.password',
          'token',
          'password',
        ],
        censor: '[REDACTED]',
      },
    },
    destination,
  );
}
