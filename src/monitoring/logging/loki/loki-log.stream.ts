import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { transport } from 'pino';
import type { LokiDropReason, LokiShipperOptions, LokiShipperStats } from './loki-shipper';
import { LOKI_FLUSH_REQUEST, LOKI_FLUSHED_EVENT, LOKI_STATS_EVENT } from './loki.transport';

/** The part of pino's thread-stream this class uses. */
interface ThreadStreamLike {
  write(line: string): boolean;
  flushSync(): void;
  end(): void;
  emit(event: string, ...args: unknown[]): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  worker?: { terminate(): Promise<number> };
}

/**
 * Main-thread side of the Loki shipping: a pino transport (worker thread) running
 * `loki.transport`. Writing a line costs a copy into the transport's shared buffer; batching,
 * compression, HTTP and retries happen in the worker. If the worker dies, lines are counted as
 * dropped and the application carries on (stdout still receives every line).
 */
export class LokiLogStream {
  private readonly stream: ThreadStreamLike;
  private latest: LokiShipperStats = emptyStats();
  private lostInMainThread = 0;
  private open = true;
  private closed: Promise<void>;
  private failure: string | undefined;

  constructor(options: LokiShipperOptions) {
    const { target, execArgv } = transportEntry();
    this.stream = transport({
      target,
      options,
      ...(execArgv ? { worker: { execArgv } } : {}),
    });
    this.stream.on(LOKI_STATS_EVENT, (stats: LokiShipperStats) => {
      this.latest = stats;
    });
    this.stream.on('error', (error: Error) => {
      this.failure = error.message;
      this.open = false;
    });
    this.closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
    void this.closed.then(() => {
      this.open = false;
    });
  }

  /** Hands one JSON line to the worker. Never throws. */
  write(line: string): void {
    if (!this.open) {
      this.lostInMainThread++;
      return;
    }
    try {
      this.stream.write(line);
    } catch (error) {
      this.open = false;
      this.failure = (error as Error).message;
      this.lostInMainThread++;
    }
  }

  /** The counters last reported by the worker, plus lines the main thread could not hand over. */
  get stats(): LokiShipperStats & { transportFailure?: string } {
    const stats = { ...this.latest, dropped: { ...this.latest.dropped } };
    stats.dropped.shutdown += this.lostInMainThread;
    return this.failure ? { ...stats, transportFailure: this.failure } : stats;
  }

  /**
   * Pushes the last lines and stops the worker. The worker is asked to flush first and given
   * `timeoutMs` to do it (its own shutdown timeout is shorter), then the stream is ended; a worker
   * that does not exit within a second after that is terminated. Never rejects.
   */
  async close(timeoutMs: number): Promise<void> {
    if (!this.open) return;
    this.open = false;
    try {
      // Hand over the lines still held on this side before asking for the flush.
      this.stream.flushSync();
      const flushed = new Promise<void>((resolve) =>
        this.stream.once(LOKI_FLUSHED_EVENT, (stats: LokiShipperStats) => {
          this.latest = stats;
          resolve();
        }),
      );
      this.stream.emit('message', { code: LOKI_FLUSH_REQUEST });
      await within(Promise.race([flushed, this.closed]), timeoutMs);
      this.stream.end();
    } catch (error) {
      this.failure ??= (error as Error).message;
    }
    if (!(await within(this.closed, 1000)))
      await this.stream.worker?.terminate().catch(() => undefined);
  }
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  if (timer) clearTimeout(timer);
  return settled;
}

/** Reasons in a fixed order (metric label values). */
export const LOKI_DROP_REASONS: readonly LokiDropReason[] = [
  'buffer_full',
  'rejected',
  'retries_exhausted',
  'shutdown',
];

function emptyStats(): LokiShipperStats {
  return {
    sent: 0,
    dropped: { buffer_full: 0, rejected: 0, retries_exhausted: 0, shutdown: 0 },
    retries: 0,
    failedPushes: 0,
    buffered: 0,
    inFlight: 0,
    maxBuffered: 0,
  };
}

/**
 * The transport file for the worker: the compiled `.js` beside this file; when running from the
 * TypeScript sources, the `.ts` file plus a loader preloaded into the worker.
 */
function transportEntry(): { target: string; execArgv?: string[] } {
  const compiled = join(__dirname, 'loki.transport.js');
  if (existsSync(compiled)) return { target: compiled };
  const source = join(__dirname, 'loki.transport.ts');
  return {
    target: source,
    execArgv: ['--require', join(__dirname, '..', 'typescript-worker-loader.cjs')],
  };
}
