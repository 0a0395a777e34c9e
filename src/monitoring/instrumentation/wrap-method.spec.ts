import 'reflect-metadata';
import { Observable, firstValueFrom, lastValueFrom, of, throwError, toArray } from 'rxjs';
import { startTestRuntime } from '../../../test/support/event-capture';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
import { TrackAgent } from './track-agent.decorator';
import { TrackLLM } from './track-llm.decorator';
import { TrackTool } from './track-tool.decorator';
import { unwrapMethod, wrapMethod } from './wrap-method';

const CustomMeta = (value: string): MethodDecorator => (target, key, descriptor) => {
  Reflect.defineMetadata('custom:meta', value, descriptor.value as object);
  return descriptor;
};

class Base {
  readonly agentId: string = 'base-agent';
  readonly agentType = 'llm';
  calls: unknown[][] = [];

  @TrackAgent()
  @CustomMeta('kept')
  syncRun(a: number, b: number): number {
    this.calls.push([a, b]);
    return a + b;
  }

  @TrackAgent()
  async asyncRun(fail: boolean): Promise<string> {
    if (fail) throw new RangeError('async boom');
    return 'done';
  }

  @TrackAgent()
  syncThrow(): never {
    throw new TypeError('sync boom');
  }

  @TrackAgent()
  observable(fail: boolean): Observable<number> {
    return fail ? throwError(() => new Error('obs boom')) : of(1, 2, 3);
  }

  @TrackAgent()
  async *generate(n: number): AsyncGenerator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
}

class Sub extends Base {
  override readonly agentId = 'sub-agent';
}

describe('tracking decorators: method semantics', () => {
  let ctx: ReturnType<typeof startTestRuntime>;
  beforeEach(() => {
    ctx = startTestRuntime();
  });
  afterEach(() => ctx.stop());

  it('keeps this, arguments, return value, name and metadata; a sync method stays sync', () => {
    const b = new Base();
    const result = b.syncRun(2, 3);
    expect(result).toBe(5); // not a Promise
    expect(b.calls).toEqual([[2, 3]]);
    expect(Base.prototype.syncRun.name).toBe('syncRun');
    expect(Base.prototype.syncRun.length).toBe(2);
    expect(Reflect.getMetadata('custom:meta', Base.prototype.syncRun)).toBe('kept');
    const [event] = ctx.sink.ofKind('agent_execution');
    expect(event).toMatchObject({ agentId: 'base-agent', agentType: 'llm', success: true });
  });

  it('works on subclass instances and on instances created with new, outside DI', async () => {
    await new Sub().asyncRun(false);
    expect(ctx.sink.ofKind('agent_execution')[0]).toMatchObject({ agentId: 'sub-agent', success: true });
  });

  it('rethrows the very same error object with its stack, sync and async', async () => {
    const b = new Base();
    let syncError: unknown;
    try {
      b.syncThrow();
    } catch (e) {
      syncError = e;
    }
    expect(syncError).toBeInstanceOf(TypeError);
    expect((syncError as Error).stack).toContain('syncThrow');
    const asyncError = await b.asyncRun(true).catch((e: unknown) => e);
    expect(asyncError).toBeInstanceOf(RangeError);
    expect((asyncError as Error).message).toBe('async boom');
    const events = ctx.sink.ofKind('agent_execution');
    expect(events.map((e) => [e.success, e.error?.type])).toEqual([
      [false, 'TypeError'],
      [false, 'RangeError'],
    ]);
  });

  it('rethrows the identical error instance (no wrapping, no copy)', async () => {
    const error = new Error('identity');
    class Thrower {
      @TrackTool()
      sync(): never {
        throw error;
      }
      @TrackTool()
      async later(): Promise<never> {
        throw error;
      }
    }
    expect(() => new Thrower().sync()).toThrow(error);
    try {
      new Thrower().sync();
    } catch (e) {
      expect(e).toBe(error);
    }
    await expect(new Thrower().later()).rejects.toBe(error);
  });

  it('ends Observable tracking on complete or error, not on return', async () => {
    const b = new Base();
    const obs = b.observable(false);
    expect(ctx.sink.events).toHaveLength(0); // cold: nothing finished yet
    expect(await lastValueFrom(obs.pipe(toArray()))).toEqual([1, 2, 3]);
    expect(ctx.sink.events).toHaveLength(1);
    await expect(firstValueFrom(b.observable(true))).rejects.toThrow('obs boom');
    expect(ctx.sink.ofKind('agent_execution').map((e) => e.success)).toEqual([true, false]);
  });

  it('ends async-iterable tracking when iteration finishes', async () => {
    const seen: number[] = [];
    for await (const v of new Base().generate(3)) {
      seen.push(v);
      expect(ctx.sink.events).toHaveLength(0);
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(ctx.sink.ofKind('agent_execution')).toHaveLength(1);
  });

  it('guards against double wrapping', () => {
    const fn = function twice(this: unknown) {
      return 1;
    };
    const once = wrapMethod(fn, 'x', () => ({ finish: () => undefined }));
    const again = wrapMethod(once, 'x', () => ({ finish: () => undefined }));
    expect(again).toBe(once);
    expect(unwrapMethod(once)).toBe(fn);
  });

  it('never throws into business code: failing sinks and extractors are counted', async () => {
    const broken: MonitoringSink = {
      name: 'broken',
      record() {
        throw new Error('sink down');
      },
    };
    ctx.fanOut.addSink(broken);
    class Flaky {
      @TrackTool({
        toolName: () => {
          throw new Error('extractor bug');
        },
      })
      invoke() {
        return 'ok';
      }
    }
    expect(new Flaky().invoke()).toBe('ok');
    expect(new Base().syncRun(1, 1)).toBe(2);
    expect(ctx.fanOut.sinkErrors.get('TrackTool')).toBe(1);
    expect(ctx.fanOut.sinkErrors.get('broken')).toBe(1);
  });
});

describe('tracking decorators without an initialised module', () => {
  it('pass straight through', async () => {
    class Plain {
      @TrackLLM()
      async complete() {
        return { usage: { prompt_tokens: 1, completion_tokens: 1 } };
      }
    }
    await expect(new Plain().complete()).resolves.toEqual({ usage: { prompt_tokens: 1, completion_tokens: 1 } });
    expect(new Base().syncRun(1, 2)).toBe(3);
  });
});
