import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

/**
 * Ships log lines to Loki's push API (`POST /loki/api/v1/push`, JSON, gzip). Runs inside the log
 * transport's worker thread, so nothing here touches the application's event loop.
 *
 * Guarantees, whatever Loki does:
 * - memory is bounded: at most `maxBufferedLines` lines wait, plus one batch in flight; when the
 *   buffer is full the oldest line is dropped and counted;
 * - one push at a time, each with a timeout;
 * - retryable failures (network error, timeout, 429, 5xx) are retried with exponential backoff
 *   (honouring `Retry-After`) up to `maxRetries` times, then the batch is dropped and counted;
 *   other answers (400, 401, 413…) drop the batch at once and count it;
 * - `close()` pushes what is left within `shutdownTimeoutMs` and counts the rest as dropped.
 */
export interface LokiShipperOptions {
  /** Base URL of Loki; user info in it becomes basic auth. */
  url: string;
  /** Static stream labels. */
  labels: Record<string, string>;
  /** Sent as `X-Scope-OrgID`. */
  tenantId?: string;
  batchSize: number;
  batchIntervalMs: number;
  maxBufferedLines: number;
  maxRetries: number;
  timeoutMs: number;
  shutdownTimeoutMs: number;
  /** First retry delay; doubles up to `retryMaxDelayMs`. Default: min(500, batchIntervalMs). */
  retryBaseDelayMs?: number;
  /** Longest retry delay. Default 30 000. */
  retryMaxDelayMs?: number;
}

/** Why lines were dropped instead of reaching Loki. */
export type LokiDropReason = 'buffer_full' | 'rejected' | 'retries_exhausted' | 'shutdown';

/** Cumulative counters of one shipper, reported to the main thread. */
export interface LokiShipperStats {
  /** Lines Loki accepted. */
  sent: number;
  dropped: Record<LokiDropReason, number>;
  /** Push attempts that failed and were retried. */
  retries: number;
  /** Pushes that failed, retried or not. */
  failedPushes: number;
  /** Lines waiting (not counting the batch in flight). */
  buffered: number;
  /** Lines in the batch being pushed. */
  inFlight: number;
  /** Highest number of waiting lines seen. */
  maxBuffered: number;
  /** Last failure, without credentials. */
  lastError?: string;
}

/** A batch bigger than this (uncompressed JSON) is split, far below Loki's default 4 MB message limit. */
const MAX_BATCH_BYTES = 1024 * 1024;
/** Bodies smaller than this are not worth compressing. */
const GZIP_MIN_BYTES = 1024;

interface Entry {
  ts: string;
  line: string;
}

/** FIFO of entries with O(1) removal at the head. */
class EntryQueue {
  private items: Entry[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(entry: Entry): void {
    this.items.push(entry);
  }

  shift(): Entry | undefined {
    if (this.head >= this.items.length) return undefined;
    const entry = this.items[this.head];
    this.items[this.head++] = undefined as unknown as Entry;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }
}

class Abort extends Error {}

/** Loki push client with a bounded buffer. */
export class LokiShipper {
  private readonly queue = new EntryQueue();
  private readonly pushUrl: string;
  private readonly headers: Record<string, string>;
  private readonly retryBase: number;
  private readonly retryMax: number;
  private readonly stats: LokiShipperStats = {
    sent: 0,
    dropped: { buffer_full: 0, rejected: 0, retries_exhausted: 0, shutdown: 0 },
    retries: 0,
    failedPushes: 0,
    buffered: 0,
    inFlight: 0,
    maxBuffered: 0,
  };
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private closing = false;
  private abandoned = false;
  private wakeRetry: (() => void) | undefined;
  private lastMs = 0;
  private seq = 0;
  private reportedAt = -1;
  private changes = 0;

  constructor(
    private readonly options: LokiShipperOptions,
    private readonly onStats: (stats: LokiShipperStats) => void = () => undefined,
  ) {
    const url = new URL(options.url);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (url.username || url.password) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.Authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    if (options.tenantId) headers['X-Scope-OrgID'] = options.tenantId;
    this.headers = headers;
    this.pushUrl = `${url.toString().replace(/\/+$/, '')}/loki/api/v1/push`;
    this.retryBase = options.retryBaseDelayMs ?? Math.min(500, options.batchIntervalMs);
    this.retryMax = options.retryMaxDelayMs ?? 30_000;
    this.timer = setInterval(() => this.tick(), options.batchIntervalMs);
  }

  /** A copy of the counters. */
  snapshot(): LokiShipperStats {
    return { ...this.stats, dropped: { ...this.stats.dropped } };
  }

  /** Queues one log line (a JSON line written by pino). Never blocks, never throws. */
  add(line: string): void {
    if (line.length === 0) return;
    if (this.closing) {
      this.drop('shutdown', 1);
      return;
    }
    if (this.queue.length >= this.options.maxBufferedLines) {
      this.queue.shift();
      this.drop('buffer_full', 1);
    }
    this.queue.push({ ts: this.timestampOf(line), line });
    const waiting = this.queue.length;
    this.stats.buffered = waiting;
    if (waiting > this.stats.maxBuffered) this.stats.maxBuffered = waiting;
    if (waiting >= this.options.batchSize) this.kick();
  }

  /** Pushes what is left, within the shutdown timeout; what cannot be pushed is counted as dropped. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + this.options.shutdownTimeoutMs;
    // A batch waiting for its next retry gets one last attempt now rather than after its backoff.
    this.wakeRetry?.();
    const drain = async () => {
      if (this.sending) await this.sending;
      while (this.queue.length > 0 && Date.now() < deadline) {
        this.kick();
        if (this.sending) await this.sending;
      }
    };
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      drain(),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      }),
    ]);
    if (timeout) clearTimeout(timeout);
    if (this.sending) {
      // Still waiting for Loki at the deadline: whatever it answers later is not counted twice.
      this.abandoned = true;
      this.drop('shutdown', this.stats.inFlight);
    }
    const left = this.queue.length;
    while (this.queue.shift()) {
      /* emptied */
    }
    if (left > 0) this.drop('shutdown', left);
    this.stats.buffered = 0;
    this.report(true);
  }

  private tick(): void {
    if (this.queue.length > 0) this.kick();
    if (this.changes > 0) this.report(true);
  }

  /** Starts a push unless one is running. */
  private kick(): void {
    if (this.sending || this.queue.length === 0) return;
    const batch = this.takeBatch();
    this.stats.inFlight = batch.length;
    this.stats.buffered = this.queue.length;
    this.sending = this.pushWithRetries(batch).finally(() => {
      this.sending = undefined;
      this.stats.inFlight = 0;
      this.report(true);
      // Catch up when lines piled up during the push.
      if (!this.closing && this.queue.length >= this.options.batchSize) this.kick();
    });
  }

  private takeBatch(): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    while (batch.length < this.options.batchSize) {
      const entry = this.queue.shift();
      if (!entry) break;
      batch.push(entry);
      bytes += entry.line.length + 32;
      if (bytes >= MAX_BATCH_BYTES) break;
    }
    return batch;
  }

  private async pushWithRetries(batch: Entry[]): Promise<void> {
    const body = JSON.stringify({
      streams: [{ stream: this.options.labels, values: batch.map((e) => [e.ts, e.line]) }],
    });
    const payload = body.length >= GZIP_MIN_BYTES ? await gzip(body) : body;
    const headers =
      payload === body ? this.headers : { ...this.headers, 'Content-Encoding': 'gzip' };
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.pushOnce(payload, headers);
      if (this.abandoned) return;
      if (outcome.ok) {
        this.stats.sent += batch.length;
        this.changes++;
        return;
      }
      this.stats.failedPushes++;
      this.stats.lastError = outcome.error;
      this.changes++;
      if (!outcome.retryable) {
        this.drop('rejected', batch.length);
        return;
      }
      if (attempt >= this.options.maxRetries || this.closing) {
        this.drop(this.closing ? 'shutdown' : 'retries_exhausted', batch.length);
        return;
      }
      this.stats.retries++;
      this.report(false);
      const delay = outcome.retryAfterMs ?? this.backoff(attempt);
      try {
        await this.sleep(delay);
      } catch (error) {
        if (!(error instanceof Abort)) throw error;
        // Woken by close(): one last attempt before giving up.
        const last = await this.pushOnce(payload, headers);
        if (this.abandoned) return;
        if (last.ok) {
          this.stats.sent += batch.length;
        } else {
          this.stats.failedPushes++;
          this.stats.lastError = last.error;
          this.drop('shutdown', batch.length);
        }
        this.changes++;
        return;
      }
    }
  }

  private async pushOnce(
    payload: string | Buffer,
    headers: Record<string, string>,
  ): Promise<
    { ok: true } | { ok: false; retryable: boolean; error: string; retryAfterMs?: number }
  > {
    try {
      const response = await fetch(this.pushUrl, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (response.ok) {
        await response.body?.cancel();
        return { ok: true };
      }
      const text = (await response.text().catch(() => '')).slice(0, 300).trim();
      const retryable = response.status === 429 || response.status >= 500;
      const retryAfterMs = retryable
        ? this.retryAfter(response.headers.get('retry-after'))
        : undefined;
      return {
        ok: false,
        retryable,
        error: `Loki answered ${response.status}${text ? `: ${text}` : ''}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    } catch (error) {
      const e = error as {
        name?: string;
        message?: string;
        cause?: { code?: string; message?: string };
      };
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${this.options.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
      return { ok: false, retryable: true, error: `push to Loki failed: ${reason}` };
    }
  }

  private retryAfter(header: string | null): number | undefined {
    if (!header) return undefined;
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (!Number.isFinite(ms) || ms < 0) return undefined;
    return Math.min(ms, this.retryMax);
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.retryMax, this.retryBase * 2 ** attempt);
    return base * (0.8 + Math.random() * 0.4);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wakeRetry = undefined;
        resolve();
      }, ms);
      this.wakeRetry = () => {
        clearTimeout(timer);
        this.wakeRetry = undefined;
        reject(new Abort());
      };
    });
  }

  private drop(reason: LokiDropReason, lines: number): void {
    this.stats.dropped[reason] += lines;
    this.changes++;
  }

  /** Sends the counters to the listener, at most once per batch interval unless forced. */
  private report(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.reportedAt < this.options.batchIntervalMs) return;
    this.reportedAt = now;
    this.changes = 0;
    this.stats.buffered = this.queue.length;
    try {
      this.onStats(this.snapshot());
    } catch {
      // A listener failure must not stop shipping.
    }
  }

  /**
   * Loki timestamp (ns since the epoch, as a string) of a line: its own `timestamp` field when
   * present, so the entry is dated when it was logged and not when it was shipped, plus a
   * per-millisecond sequence so that two equal lines in the same millisecond are both kept
   * (Loki drops exact duplicates) and keep their order.
   */
  private timestampOf(line: string): string {
    let ms = NaN;
    const at = line.indexOf('"timestamp":"');
    if (at >= 0) {
      const start = at + 13;
      const end = line.indexOf('"', start);
      if (end > start) ms = Date.parse(line.slice(start, end));
    }
    if (!Number.isFinite(ms)) ms = Date.now();
    if (ms === this.lastMs) {
      this.seq = this.seq < 999_999 ? this.seq + 1 : this.seq;
    } else {
      this.lastMs = ms;
      this.seq = 0;
    }
    return `${ms}${String(this.seq).padStart(6, '0')}`;
  }
}
