import {
  LokiShipper,
  type LokiShipperOptions,
  type LokiShipperStats,
} from '../../src/monitoring/logging/loki/loki-shipper';
import { waitFor } from './log-capture';
import { LokiReceiver } from './loki-receiver';

/** The shipper in the test's own thread (the module runs it in a worker), against the receiver. */
describe('LokiShipper', () => {
  const receiver = new LokiReceiver();
  let shipper: LokiShipper | undefined;
  let reports: LokiShipperStats[];

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.reset();
    receiver.hang = false;
    reports = [];
  });
  afterEach(async () => {
    await shipper?.close();
    shipper = undefined;
  });

  function create(options: Partial<LokiShipperOptions> = {}): LokiShipper {
    shipper = new LokiShipper(
      {
        url: receiver.url,
        labels: { app: 'magure-ai', env: 'test' },
        batchSize: 10,
        batchIntervalMs: 20,
        maxBufferedLines: 100,
        maxRetries: 3,
        timeoutMs: 2000,
        shutdownTimeoutMs: 2000,
        retryBaseDelayMs: 5,
        retryMaxDelayMs: 20,
        ...options,
      },
      (stats) => reports.push(stats),
    );
    return shipper;
  }

  const line = (
    i: number,
    timestamp = new Date(Date.UTC(2025, 0, 15, 10, 0, 0, i)).toISOString(),
  ) => JSON.stringify({ level: 'info', timestamp, event: 'n', i });

  it('pushes full batches at once and the rest at the interval, one stream with the static labels', async () => {
    const s = create({ batchIntervalMs: 60_000 });
    for (let i = 0; i < 25; i++) s.add(line(i));
    await waitFor(() => receiver.lineCount === 20, 'two full batches');
    expect(receiver.pushes.map((p) => p.streams.map((st) => st.values.length))).toEqual([
      [10],
      [10],
    ]);
    await s.close();
    expect(receiver.lineCount).toBe(25);
    expect(receiver.labelSets).toEqual([{ app: 'magure-ai', env: 'test' }]);
    expect(s.snapshot()).toMatchObject({
      sent: 25,
      buffered: 0,
      dropped: { buffer_full: 0, rejected: 0, retries_exhausted: 0, shutdown: 0 },
    });
  });

  it("timestamps entries with the line's own time, in nanoseconds, unique and ordered within a millisecond", async () => {
    const s = create();
    const sameMs = '2025-01-15T10:00:00.123Z';
    s.add(line(1, sameMs));
    s.add(line(1, sameMs)); // identical line, same millisecond: Loki would drop an exact duplicate
    s.add(line(2, sameMs));
    await s.close();
    const values = receiver.pushes.flatMap((p) => p.streams.flatMap((st) => st.values));
    expect(values.map((v) => v[0])).toEqual([
      '1736935200123000000',
      '1736935200123000001',
      '1736935200123000002',
    ]);
    expect(receiver.lineCount).toBe(3);
  });

  it('retries 429 and 5xx answers, then delivers', async () => {
    const s = create();
    receiver.failNext(503, 2);
    for (let i = 0; i < 5; i++) s.add(line(i));
    await waitFor(() => receiver.lineCount === 5, 'delivery after two failures');
    await waitFor(() => reports.some((r) => r.sent === 5), 'a report with the delivery');
    expect(receiver.failedOnPurpose).toBe(2);
    expect(s.snapshot()).toMatchObject({ sent: 5, retries: 2, failedPushes: 2 });
    expect(s.snapshot().lastError).toBe('Loki answered 503: failing on purpose');
  });

  it('drops a batch Loki rejects with a non-retryable status, and counts it', async () => {
    const s = create();
    receiver.failNext(400, 1);
    for (let i = 0; i < 4; i++) s.add(line(i));
    await waitFor(() => s.snapshot().dropped.rejected === 4, 'rejected batch counted');
    expect(s.snapshot().retries).toBe(0);
    s.add(line(9));
    await waitFor(() => receiver.lineCount === 1, 'later lines still shipped');
  });

  it('gives up after maxRetries and counts the batch as retries_exhausted', async () => {
    const s = create({ maxRetries: 2 });
    receiver.failNext(500, 100);
    for (let i = 0; i < 3; i++) s.add(line(i));
    await waitFor(() => s.snapshot().dropped.retries_exhausted === 3, 'exhausted batch counted');
    expect(receiver.pushAttempts).toBe(3);
    expect(s.snapshot().retries).toBe(2);
  });

  it('keeps at most maxBufferedLines while Loki is down, dropping the oldest, then delivers the newest', async () => {
    await receiver.stop();
    try {
      const s = create({ maxBufferedLines: 50, batchSize: 10, maxRetries: 1000 });
      for (let i = 0; i < 500; i++) s.add(line(i));
      const stats = s.snapshot();
      // One batch went in flight before the buffer filled; the rest wait or were dropped.
      expect(stats.buffered).toBe(50);
      expect(stats.maxBuffered).toBe(50);
      expect(stats.inFlight).toBe(10);
      expect(stats.dropped.buffer_full).toBe(500 - 50 - 10);
    } finally {
      await receiver.start();
    }
    await waitFor(() => receiver.lineCount === 60, 'the kept lines arrive once Loki is back');
    const arrived = receiver.lines.map((l) => JSON.parse(l).i as number);
    expect(arrived).toEqual([
      ...Array.from({ length: 10 }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 450 + i),
    ]);
    expect(shipper!.snapshot().retries).toBeGreaterThan(0);
  });

  it('honours Retry-After on 429', async () => {
    const s = create({ retryMaxDelayMs: 60_000, retryBaseDelayMs: 1 });
    receiver.failNext(429, 1, '0.3');
    s.add(line(1));
    await waitFor(() => receiver.pushAttempts === 1, 'first attempt');
    const firstAt = Date.now();
    await waitFor(() => receiver.lineCount === 1, 'retry after the announced delay');
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(250);
  });

  it('times out a push Loki never answers, retries it, and close() gives up at the shutdown deadline', async () => {
    receiver.hang = true;
    const s = create({ timeoutMs: 100, shutdownTimeoutMs: 300, maxRetries: 1000 });
    for (let i = 0; i < 3; i++) s.add(line(i));
    await waitFor(() => s.snapshot().failedPushes >= 2, 'timed-out pushes');
    expect(s.snapshot().lastError).toBe('push to Loki failed: no answer within 100 ms');
    s.add(line(3));
    await s.close();
    const stats = s.snapshot();
    expect(stats.sent).toBe(0);
    expect(stats.dropped.shutdown).toBe(4);
    // Lines written after close() are counted, not queued.
    s.add(line(4));
    expect(s.snapshot().dropped.shutdown).toBe(5);
  });

  it('sends basic auth from the URL credentials and the tenant header, never the credentials in the URL', async () => {
    const url = new URL(receiver.url);
    url.username = 'loki-user';
    url.password = 'p@ss word';
    const s = create({ url: url.toString(), tenantId: 'tenant-a' });
    s.add(line(1));
    await s.close();
    const headers = receiver.pushes[0]!.headers;
    expect(headers.authorization).toBe(
      `Basic ${Buffer.from('loki-user:p@ss word').toString('base64')}`,
    );
    expect(headers['x-scope-orgid']).toBe('tenant-a');
  });
});
