import { Observable, isObservable } from 'rxjs';
import type { MonitoringScope } from '../context/monitoring-scope';
import { storage } from '../context/monitoring-scope';
import { currentRuntime, type MonitoringRuntime } from './monitoring-runtime';

/** One in-flight tracked call. */
export interface Tracking {
  /** Scope the method body runs in (workflow, agent and tool calls open one). */
  scope?: MonitoringScope;
  /** Sees each item of a streamed result (async iterable or Observable). */
  onItem?(item: unknown): void;
  /** Called exactly once: with the result (or last streamed item), or with the error. */
  finish(outcome: { result?: unknown; error?: unknown; failed: boolean; streamed: boolean }): void;
}

/** Starts tracking one call; it may throw, in which case the call runs untracked. */
export type BeginTracking = (runtime: MonitoringRuntime, instance: unknown, args: unknown[]) => Tracking;

const WRAPPED = Symbol.for('nestjs-ai-monitoring:wrapped');

/**
 * Turns a method into a tracked one. The wrapper keeps `this`, arguments, the return value and
 * the thrown error (same object), the function name and every reflect-metadata key. A sync method
 * stays sync; Promise, Observable and async-iterable results end the tracking when they settle,
 * complete or finish iterating. Without an initialised module the wrapper only forwards the call.
 */
export function wrapMethod<F extends (...args: any[]) => any>(
  original: F,
  source: string,
  begin: BeginTracking,
): F {
  if ((original as unknown as Record<symbol, unknown>)[WRAPPED]) return original;

  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const runtime = currentRuntime();
    if (runtime === undefined) return original.apply(this, args);
    let tracking: Tracking;
    try {
      tracking = begin(runtime, this, args);
    } catch (error) {
      runtime.fanOut.reportFailure(source, error);
      return original.apply(this, args);
    }
    const settle = (outcome: Parameters<Tracking['finish']>[0]) => {
      try {
        tracking.finish(outcome);
      } catch (error) {
        runtime.fanOut.reportFailure(source, error);
      }
    };
    let result: unknown;
    try {
      result =
        tracking.scope === undefined
          ? original.apply(this, args)
          : storage.run(tracking.scope, () => original.apply(this, args));
    } catch (error) {
      settle({ error, failed: true, streamed: false });
      throw error;
    }
    return track(result, tracking, settle, runtime, source);
  };

  copyIdentity(original, wrapper);
  return wrapper as unknown as F;
}

function track(
  result: unknown,
  tracking: Tracking,
  settle: (outcome: Parameters<Tracking['finish']>[0]) => void,
  runtime: MonitoringRuntime,
  source: string,
): unknown {
  if (result !== null && typeof result === 'object') {
    if (typeof (result as PromiseLike<unknown>).then === 'function') {
      return (result as PromiseLike<unknown>).then(
        (value) => {
          if (isAsyncIterable(value) && !isObservable(value)) {
            return trackIterable(value, tracking, settle, runtime, source);
          }
          settle({ result: value, failed: false, streamed: false });
          return value;
        },
        (error: unknown) => {
          settle({ error, failed: true, streamed: false });
          throw error;
        },
      );
    }
    if (isObservable(result)) return trackObservable(result, tracking, settle, runtime, source);
    if (isAsyncIterable(result)) return trackIterable(result, tracking, settle, runtime, source);
  }
  settle({ result, failed: false, streamed: false });
  return result;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function'
  );
}

function safeItem(tracking: Tracking, item: unknown, runtime: MonitoringRuntime, source: string) {
  if (!tracking.onItem) return;
  try {
    tracking.onItem(item);
  } catch (error) {
    runtime.fanOut.reportFailure(source, error);
  }
}

function inScope<T>(tracking: Tracking, fn: () => T): T {
  return tracking.scope === undefined ? fn() : storage.run(tracking.scope, fn);
}

function trackObservable(
  source$: Observable<unknown>,
  tracking: Tracking,
  settle: (outcome: Parameters<Tracking['finish']>[0]) => void,
  runtime: MonitoringRuntime,
  source: string,
): Observable<unknown> {
  let done = false;
  let last: unknown;
  return new Observable<unknown>((subscriber) => {
    const subscription = inScope(tracking, () =>
      source$.subscribe({
        next(value) {
          last = value;
          safeItem(tracking, value, runtime, source);
          subscriber.next(value);
        },
        error(error: unknown) {
          if (!done) {
            done = true;
            settle({ error, failed: true, streamed: true });
          }
          subscriber.error(error);
        },
        complete() {
          if (!done) {
            done = true;
            settle({ result: last, failed: false, streamed: true });
          }
          subscriber.complete();
        },
      }),
    );
    return () => {
      subscription.unsubscribe();
      // Unsubscribed before completion: the consumer stopped early, which is not a failure.
      if (!done) {
        done = true;
        settle({ result: last, failed: false, streamed: true });
      }
    };
  });
}

function trackIterable(
  iterable: AsyncIterable<unknown>,
  tracking: Tracking,
  settle: (outcome: Parameters<Tracking['finish']>[0]) => void,
  runtime: MonitoringRuntime,
  source: string,
): AsyncIterable<unknown> {
  let done = false;
  let last: unknown;
  const finishOnce = (outcome: Parameters<Tracking['finish']>[0]) => {
    if (done) return;
    done = true;
    settle(outcome);
  };
  const trackedIterator = (): AsyncIterator<unknown> & AsyncIterable<unknown> => {
    const it = inScope(tracking, () => iterable[Symbol.asyncIterator]());
    const tracked: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      next(...a: [] | [unknown]) {
        return inScope(tracking, () => it.next(...a)).then(
          (r) => {
            if (r.done) finishOnce({ result: last, failed: false, streamed: true });
            else {
              last = r.value;
              safeItem(tracking, r.value, runtime, source);
            }
            return r;
          },
          (error: unknown) => {
            finishOnce({ error, failed: true, streamed: true });
            throw error;
          },
        );
      },
      return(value?: unknown) {
        // The consumer stopped early (break): not a failure.
        finishOnce({ result: last, failed: false, streamed: true });
        return it.return
          ? inScope(tracking, () => it.return!(value))
          : Promise.resolve({ done: true as const, value });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    if (it.throw) {
      tracked.throw = (error?: unknown) => {
        finishOnce({ error, failed: true, streamed: true });
        return inScope(tracking, () => it.throw!(error));
      };
    }
    return tracked;
  };

  // An async generator is its own iterator: hand back a tracked iterator in its place.
  if (Object.prototype.toString.call(iterable) === '[object AsyncGenerator]') return trackedIterator();

  // Other iterables (SDK stream classes) keep their own methods: only iteration is intercepted.
  return new Proxy(iterable as object, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return trackedIterator;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as AsyncIterable<unknown>;
}

function copyIdentity(original: Function, wrapper: Function): void {
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  Object.defineProperty(wrapper, WRAPPED, { value: original, enumerable: false });
  if (typeof Reflect.getMetadataKeys === 'function') {
    for (const key of Reflect.getMetadataKeys(original)) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, original), wrapper);
    }
  }
}

/** The undecorated method behind a tracked one (or the function itself). */
export function unwrapMethod<F extends Function>(fn: F): F {
  return ((fn as unknown as Record<symbol, unknown>)[WRAPPED] as F | undefined) ?? fn;
}

/**
 * Builds a method decorator from a tracking factory. Metadata written by decorators listed below
 * this one (applied earlier) is copied; decorators listed above see the wrapper and write to it.
 */
export function trackingDecorator(source: string, begin: BeginTracking): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    if (typeof descriptor.value !== 'function') {
      throw new TypeError(`@${source} can only decorate methods`);
    }
    descriptor.value = wrapMethod(descriptor.value as (...a: unknown[]) => unknown, source, begin);
    return descriptor;
  };
}
