import { Writable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { LokiShipper, type LokiShipperOptions, type LokiShipperStats } from './loki-shipper';

/** Name of the worker event that carries the shipper's counters to the main thread. */
export const LOKI_STATS_EVENT = 'monitoring:loki-stats';
/** Message from the main thread asking the worker to push what it holds and stop shipping. */
export const LOKI_FLUSH_REQUEST = 'monitoring:loki-flush';
/** Worker event answering a flush request, with the final counters. */
export const LOKI_FLUSHED_EVENT = 'monitoring:loki-flushed';

/**
 * pino transport entry, loaded by `pino.transport()` in a worker thread. It receives the JSON
 * lines the application wrote and hands them to a `LokiShipper`. Counters travel back as
 * thread-stream `EVENT` messages, which the main thread's stream re-emits as events: that is how
 * the drop and retry counters of the worker reach the application's `/metrics`.
 */
export default function lokiTransport(options: LokiShipperOptions): Writable {
  const report = (stats: LokiShipperStats) =>
    parentPort?.postMessage({ code: 'EVENT', name: LOKI_STATS_EVENT, args: [stats] });
  const shipper = new LokiShipper(options, report);
  // Shutdown is asked for with a message rather than by ending the stream: ending a thread-stream
  // blocks the main thread until the worker has finished, and the last push may take a while.
  parentPort?.on('message', (message: { code?: unknown } | null) => {
    if (message?.code !== LOKI_FLUSH_REQUEST) return;
    void shipper
      .close()
      .then(() =>
        parentPort?.postMessage({
          code: 'EVENT',
          name: LOKI_FLUSHED_EVENT,
          args: [shipper.snapshot()],
        }),
      );
  });
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      // thread-stream hands over whatever was written since the last read: several lines, and
      // possibly the start of a line whose end comes with the next chunk.
      const text = partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        if (nl > start) shipper.add(text.slice(start, nl));
        start = nl + 1;
      }
      partial = text.slice(start);
      callback();
    },
    final(callback) {
      if (partial.length > 0) shipper.add(partial);
      partial = '';
      shipper.close().then(
        () => callback(),
        (error: unknown) => callback(error as Error),
      );
    },
  });
}
