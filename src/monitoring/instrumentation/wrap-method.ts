import { Observable, isObservable } from 'rxjs';
import type { MonitoringScope } from '../context/monitoring-scope';
import { runInScope } from '../context/monitoring-scope';
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
          : runInScope(tracking.scope, () => original.apply(this, args));
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
    const events = sdkEventStream(result);
    if (events !== undefined) return trackEventStream(result as SdkEventStream, events, tracking, settle, runtime, source);
    if (typeof (result as PromiseLike<unknown>).then === 'function') {
      return (result as PromiseLike<unknown>).then(
        (value) => {
          const events = sdkEventStream(value);
          if (events !== undefined) return trackEventStream(value as SdkEventStream, events, tracking, settle, runtime, source);
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

/**
 * The stream helpers of the official SDKs (`anthropic.messages.stream()`, openai
 * `chat.completions.stream()`, `responses.stream()`): event emitters that run their request as
 * soon as they are created, whatever the caller does with them next (iterate, `finalMessage()`,
 * `finalChatCompletion()`, `finalResponse()`, `done()`, `.on(...)` listeners,
 * `toReadableStream()`). All of these read the same emitted events, so tracking listens to the
 * events instead of wrapping each way of consuming them.
 */
interface SdkEventStream {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  done(): Promise<void>;
  readonly errored?: boolean;
  readonly aborted?: boolean;
}

/** Name of the event carrying each raw provider event of an SDK stream helper, or undefined. */
function sdkEventStream(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.on !== 'function' || typeof v.done !== 'function' || typeof v._emit !== 'function') return undefined;
  // OpenAI ChatCompletionStream (and the streaming tool runner): every chunk as `chunk`. Checked
  // first: these runners also have a `finalMessage()` (the last assistant message).
  if (typeof v.finalChatCompletion === 'function') return 'chunk';
  // OpenAI ResponseStream: every Responses API event as `event`.
  if (typeof v.finalResponse === 'function') return 'event';
  // Anthropic MessageStream / BetaMessageStream: every server-sent event as `streamEvent`.
  if (typeof v.finalMessage === 'function') return 'streamEvent';
  return undefined;
}

function trackEventStream(
  stream: SdkEventStream,
  itemEvent: string,
  tracking: Tracking,
  settle: (outcome: Parameters<Tracking['finish']>[0]) => void,
  runtime: MonitoringRuntime,
  source: string,
): SdkEventStream {
  let done = false;
  stream.on(itemEvent, (item: unknown) => {
    if (!done) safeItem(tracking, item, runtime, source);
  });
  // `end` follows success, error and abort alike. No `error` listener is added: with one, the SDK
  // would no longer report an unhandled failure of a stream the caller never awaited.
  stream.on('end', () => {
    if (done) return;
    done = true;
    if (stream.errored === true && stream.aborted !== true) {
      // The end promise already rejected with the error: read it from there.
      stream.done().then(
        () => settle({ failed: true, streamed: true, error: new Error('stream failed') }),
        (error: unknown) => settle({ error, failed: true, streamed: true }),
      );
      return;
    }
    // Aborted by the caller (abort(), break out of the loop): stopped early, not a failure.
    settle({ failed: false, streamed: true });
  });
  return stream;
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
  return tracking.scope === undefined ? fn() : runInScope(tracking.scope, fn);
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

/**
 * State of one tracked stream, shared by the halves of `tee()`: the call ends once, and each item
 * is seen once (by the first half that reaches it).
 */
interface IterationState {
  done: boolean;
  last: unknown;
  /** Items already handed to `onItem`. */
  seen: number;
}

function trackIterable(
  iterable: AsyncIterable<unknown>,
  tracking: Tracking,
  settle: (outcome: Parameters<Tracking['finish']>[0]) => void,
  runtime: MonitoringRuntime,
  source: string,
  state: IterationState = { done: false, last: undefined, seen: 0 },
): AsyncIterable<unknown> {
  const finishOnce = (outcome: Parameters<Tracking['finish']>[0]) => {
    if (state.done) return;
    state.done = true;
    settle(outcome);
  };
  const trackedIterator = (): AsyncIterator<unknown> & AsyncIterable<unknown> => {
    const it = inScope(tracking, () => iterable[Symbol.asyncIterator]());
    let index = 0;
    const tracked: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      next(...a: [] | [unknown]) {
        return inScope(tracking, () => it.next(...a)).then(
          (r) => {
            if (r.done) finishOnce({ result: state.last, failed: false, streamed: true });
            else if (index++ >= state.seen) {
              state.seen = index;
              state.last = r.value;
              if (!state.done) safeItem(tracking, r.value, runtime, source);
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
        finishOnce({ result: state.last, failed: false, streamed: true });
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
    get(target, prop, receiver) {
      if (prop === Symbol.asyncIterator) return trackedIterator;
      // The SDK Stream's toReadableStream() iterates `this`: bound to the proxy, it is tracked too.
      if (prop === 'toReadableStream') {
        const fn = Reflect.get(target, prop, target) as unknown;
        if (typeof fn === 'function') return (...a: unknown[]) => (fn as (...x: unknown[]) => unknown).apply(receiver, a);
      }
      // tee() splits the stream in two: both halves are tracked as the one call they are.
      if (prop === 'tee') {
        const fn = Reflect.get(target, prop, target) as unknown;
        if (typeof fn === 'function') {
          return (...a: unknown[]) => {
            const halves = (fn as (...x: unknown[]) => unknown).apply(target, a);
            if (!Array.isArray(halves)) return halves;
            return halves.map((half: unknown) =>
              isAsyncIterable(half) ? trackIterable(half, tracking, settle, runtime, source, state) : half,
            );
          };
        }
      }
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
