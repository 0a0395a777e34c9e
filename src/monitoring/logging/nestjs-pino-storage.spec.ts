import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';
import { createScope, currentScope, runInRequestScope, runInScope } from '../context/monitoring-scope';
import { createNestjsPinoStore } from './nestjs-pino-storage';

// The very storage instance nestjs-pino's PinoLogger reads (4.x publishes it as a subpath).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { storage: nestjsPinoStorage } = require('nestjs-pino/storage') as {
  storage: AsyncLocalStorage<unknown>;
};

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("nestjs-pino's request store, kept in the module's context", () => {
  const logger = pino({ level: 'silent' });

  it('answers nestjs-pino from the module context: a store entered with run() is seen across awaits, nested scopes keep it', async () => {
    const store = createNestjsPinoStore(logger);
    const request = createScope('request', undefined, undefined, { requestId: 'r-1' });
    expect(nestjsPinoStorage.getStore()).toBeUndefined();
    const seen = await runInScope(request, () =>
      nestjsPinoStorage.run(store, async () => {
        await tick();
        const outer = { store: nestjsPinoStorage.getStore(), scope: currentScope() };
        const agent = createScope('agent', currentScope(), undefined, { agentId: 'a' });
        const inner = await runInScope(agent, async () => {
          await tick();
          return { store: nestjsPinoStorage.getStore(), scope: currentScope() };
        });
        return { outer, inner, after: { store: nestjsPinoStorage.getStore(), scope: currentScope() } };
      }),
    );
    expect(seen.outer.store).toBe(store);
    expect(seen.outer.scope).toBe(request);
    expect(seen.inner.store).toBe(store);
    expect(seen.inner.scope?.agentId).toBe('a');
    expect(seen.inner.scope?.parent).toBe(request);
    expect(seen.after).toEqual({ store, scope: request });
    expect(nestjsPinoStorage.getStore()).toBeUndefined();
  });

  it('a store entered inside a scope (5.x runInContext) replaces only the store: the scope stays', () => {
    const outerStore = createNestjsPinoStore(logger);
    const innerStore = createNestjsPinoStore(logger);
    const request = createScope('request', undefined, undefined, { requestId: 'r-2' });
    runInScope(request, () =>
      nestjsPinoStorage.run(outerStore, () => {
        nestjsPinoStorage.run(innerStore, () => {
          expect(nestjsPinoStorage.getStore()).toBe(innerStore);
          expect(currentScope()).toBe(request);
        });
        expect(nestjsPinoStorage.getStore()).toBe(outerStore);
      }),
    );
  });

  it('one context: the store a request is entered with is the one nestjs-pino reads, with no run() of its own', async () => {
    const store = createNestjsPinoStore(logger);
    const request = createScope('request', undefined, undefined, { requestId: 'r-3' });
    const seen = await new Promise((resolve) =>
      runInRequestScope(request, store, () => {
        void tick().then(() => resolve(nestjsPinoStorage.getStore()));
      }),
    );
    expect(seen).toBe(store);
  });

  it("passes run()'s extra arguments and return value through, as AsyncLocalStorage does", () => {
    const store = createNestjsPinoStore(logger);
    const result = nestjsPinoStorage.run(store, (a: number, b: number) => a + b, 2, 3);
    expect(result).toBe(5);
  });
});
