/**
 * `node --import @watchkeeper/node/register app.js`: installs OpenTelemetry's ESM loader hook so
 * that packages an ESM service imports (express, pg, mysql2, redis, ioredis) can be instrumented.
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
