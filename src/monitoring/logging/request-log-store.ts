import type { Logger } from 'pino';
import { createNestjsPinoStore, runInNestjsPinoStore, type NestjsPinoStore } from './nestjs-pino-storage';

/** nestjs-pino's request store (opaque here: only nestjs-pino reads it). */
export type RequestLogStore = NestjsPinoStore;

/**
 * nestjs-pino's request store for one request, holding the module's root logger. The root logger's
 * mixin already writes the request id (and every other context id) from the monitoring scope, so
 * no child logger is built per request: `PinoLogger.assign()` makes one, only when it is called.
 */
export function createRequestLogStore(logger: Logger): RequestLogStore {
  return createNestjsPinoStore(logger);
}

/**
 * Runs `next` inside nestjs-pino's request store, so that `PinoLogger` and `PinoLogger.assign()`
 * work inside requests. Takes its arguments rather than closing over them: it is passed to
 * `AsyncLocalStorage.run(store, fn, ...args)` on every request.
 */
export function runInRequestLogStore(store: RequestLogStore, next: () => void): void {
  runInNestjsPinoStore(store, next);
}
