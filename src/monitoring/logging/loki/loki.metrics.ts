import { Counter, Gauge, type Registry } from 'prom-client';
import { LOKI_DROP_REASONS, type LokiLogStream } from './loki-log.stream';

/**
 * Exposes the Loki shipping counters on the module's registry. The counters live in the
 * transport's worker thread; the worker reports them to the main thread after each push and each
 * batch interval, and these metrics read the last report at scrape time.
 */
export function registerLokiMetrics(registry: Registry, prefix: string, loki: LokiLogStream): void {
  const registers = [registry];
  new Counter({
    name: `${prefix}loki_lines_sent_total`,
    help: 'Log lines Loki accepted.',
    registers,
    collect() {
      this.reset();
      this.inc(loki.stats.sent);
    },
  });
  new Counter({
    name: `${prefix}loki_lines_dropped_total`,
    help: 'Log lines that did not reach Loki, by reason (buffer_full|rejected|retries_exhausted|shutdown). stdout still had them.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      const dropped = loki.stats.dropped;
      for (const reason of LOKI_DROP_REASONS) this.inc({ reason }, dropped[reason]);
    },
  });
  new Counter({
    name: `${prefix}loki_push_retries_total`,
    help: 'Pushes to Loki retried after a network error, timeout, 429 or 5xx.',
    registers,
    collect() {
      this.reset();
      this.inc(loki.stats.retries);
    },
  });
  new Gauge({
    name: `${prefix}loki_buffered_lines`,
    help: 'Log lines waiting to be pushed to Loki (bounded by lokiMaxBufferedLines).',
    registers,
    collect() {
      this.set(loki.stats.buffered);
    },
  });
}
