import type { Logger } from 'pino';
import { createNestjsPinoStore, type NestjsPinoStore } from './nestjs-pino-storage';

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
