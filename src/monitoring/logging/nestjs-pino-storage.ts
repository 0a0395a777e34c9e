import type { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { currentLogStore, runWithLogStore } from '../context/monitoring-scope';

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

const DELEGATED = Symbol.for('nestjs-ai-monitoring:nestjs-pino-storage');

/**
 * nestjs-pino keeps its request store in an `AsyncLocalStorage` of its own; the module keeps it in
 * the frame of its own context instead (see `ContextFrame` in monitoring-scope.ts), so a request
 * pays for one `AsyncLocalStorage`, not two. nestjs-pino only calls `run()` and `getStore()` on
 * its storage (its middleware, `PinoLogger`, `assign()`, and 5.x's `runInContext()`): both are
 * answered from the module's context, which keeps nestjs-pino's semantics — a store entered with
 * `run()` is seen by everything called inside it, and the module's scopes stay in place. Done once
 * per nestjs-pino instance (another copy of this module in the process finds it done).
 */
function delegateToModuleContext(als: AsyncLocalStorage<unknown>): void {
  const target = als as AsyncLocalStorage<unknown> & { [DELEGATED]?: true };
  if (target[DELEGATED]) return;
  target[DELEGATED] = true;
  target.getStore = currentLogStore;
  target.run = runWithLogStore;
}

delegateToModuleContext(storage);

/** A store of nestjs-pino's request context (opaque: only nestjs-pino reads it). */
export type NestjsPinoStore = object & { readonly __nestjsPinoStore?: never };

/** A new request store holding `logger`. */
export function createNestjsPinoStore(logger: Logger): NestjsPinoStore {
  return new Store(logger) as NestjsPinoStore;
}
