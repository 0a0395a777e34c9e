import type { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';

/** The shape of nestjs-pino's `storage` module (the same in 4.x and 5.x). */
interface NestjsPinoStorageModule {
  storage: AsyncLocalStorage<unknown>;
  Store: new (logger: Logger, responseLogger?: Logger) => unknown;
}

/**
 * nestjs-pino's request store: `PinoLogger` and `Logger` read the request's logger from it, and
 * `PinoLogger.assign()` writes to it. 4.x publishes it as `nestjs-pino/storage`; 5.x has no subpath
 * export for it, but keeps it as `storage.js` next to its CommonJS entry. Loading the file found
 * next to the entry works for both and gives the very instance the app's `PinoLogger` reads (the
 * module cache is keyed by the file), which a copy of our own would not.
 */
function loadStorage(): NestjsPinoStorageModule {
  const entry = require.resolve('nestjs-pino');
  const file = join(dirname(entry), 'storage.js');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(file) as Partial<NestjsPinoStorageModule>;
    if (loaded.storage && typeof loaded.Store === 'function')
      return loaded as NestjsPinoStorageModule;
  } catch {
    // Reported below with the versions that work.
  }
  throw new Error(
    `nestjs-pino's request store was not found at ${file}: nestjs-ai-monitoring needs nestjs-pino ^4.3.0 or ^5.0.0`,
  );
}

const { storage, Store } = loadStorage();

/** A store of nestjs-pino's request context (opaque: only nestjs-pino reads it). */
export type NestjsPinoStore = object & { readonly __nestjsPinoStore?: never };

/** A new request store holding `logger`. */
export function createNestjsPinoStore(logger: Logger): NestjsPinoStore {
  return new Store(logger) as NestjsPinoStore;
}

/** Runs `next` inside a nestjs-pino request store. */
export function runInNestjsPinoStore(store: NestjsPinoStore, next: () => void): void {
  storage.run(store, next);
}
