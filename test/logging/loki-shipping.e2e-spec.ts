import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LogPipeline, type MonitoringModuleOptions } from '../../src/monitoring';
import { LogCapture, waitFor } from './log-capture';
import { LokiReceiver } from './loki-receiver';
import { createTrackedApp } from './tracked-app';

/**
 * The module shipping to Loki through its worker-thread transport. Loki cannot be installed where
 * these tests run; `LokiReceiver` implements Loki's documented push and query API instead.
 */
describe('shipping logs to Loki (real Nest app, worker-thread transport, Loki receiver)', () => {
  const receiver = new LokiReceiver();
  let app: INestApplication | undefined;
  let capture: LogCapture;

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.reset();
    receiver.hang = false;
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(options: MonitoringModuleOptions = {}) {
    capture = new LogCapture();
    app = await createTrackedApp({
      logDestination: capture,
      lokiEnabled: true,
      lokiUrl: receiver.url,
      lokiBatchIntervalMs: 20,
      environment: 'production',
      ...options,
    });
    return app;
  }

  const stats = () => app!.get(LogPipeline).loki!.stats;

  it('ships every line unchanged, in one stream whose labels are exactly the static ones', async () => {
    await start();
    await request(app!.getHttpServer()).get('/workflows/ok').set('X-Request-Id', 'req-abc123');
    await request(app!.getHttpServer()).get('/llm/fail');
    await waitFor(
      () => receiver.lineCount === capture.raw.length && stats().sent === capture.raw.length,
      'every line shipped',
    );

    expect(receiver.labelSets).toEqual([{ app: 'magure-ai', env: 'production' }]);
    expect(receiver.lines).toEqual(capture.raw);
    // Request, agent and workflow ids and levels are in the line, never labels.
    for (const push of receiver.pushes)
      for (const s of push.streams) expect(Object.keys(s.stream).sort()).toEqual(['app', 'env']);
  });

  it('adds the configured extra static labels, and nothing else', async () => {
    await start({ appName: 'billing-api', lokiLabels: { region: 'eu-west-1' } });
    await request(app!.getHttpServer()).get('/req-id');
    await waitFor(() => receiver.lineCount === capture.raw.length, 'lines shipped');
    expect(receiver.labelSets).toEqual([
      { app: 'billing-api', env: 'production', region: 'eu-west-1' },
    ]);
  });

  it("answers the design's LogQL queries over the lines the application wrote", async () => {
    await start();
    const server = app!.getHttpServer();
    await request(server).get('/workflows/ok').set('X-Request-Id', 'req-abc123');
    await request(server).get('/llm/stream').set('X-Request-Id', 'req-stream');
    await waitFor(() => receiver.lineCount === capture.raw.length, 'lines shipped');

    const byAgent = receiver.query(
      '{app="magure-ai"} |= "llm_call_completed" | json | agent_id="kpi-calculator"',
    );
    const lines = byAgent.flatMap((s) => s.values.map((v) => JSON.parse(v[1])));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: 'llm_call_completed',
      agent_id: 'kpi-calculator',
      request_id: 'req-abc123',
      model: 'gpt-4o',
    });

    // No call here takes 5 s: the threshold is scaled down to show the numeric filter on real lines.
    expect(receiver.query('{app="magure-ai"} | json | latency_ms > 5000 | __error__=""')).toEqual(
      [],
    );
    const slowest = receiver
      .query('{app="magure-ai"} | json | latency_ms > 0 | __error__=""')
      .flatMap((s) => s.values.map((v) => JSON.parse(v[1])));
    expect(slowest.length).toBeGreaterThanOrEqual(4);
    expect(slowest.every((l) => typeof l.latency_ms === 'number' && l.latency_ms > 0)).toBe(true);
    expect(new Set(slowest.map((l) => l.event))).toEqual(
      new Set(['tool_call_completed', 'llm_call_completed', 'agent_execution_completed']),
    );
  });

  it('survives Loki being down, then rate limiting, then back: the app answers, memory stays bounded, drops are counted', async () => {
    await start({ lokiMaxBufferedLines: 40, lokiBatchSize: 10, lokiMaxRetries: 1000 });
    const server = app!.getHttpServer();
    await request(server).get('/req-id');
    await waitFor(() => stats().sent === capture.raw.length, 'first lines shipped');

    // Down: every request still answers, every line still reaches stdout.
    await receiver.stop();
    let answered = 0;
    try {
      for (let i = 0; i < 60; i++) {
        const res = await request(server).get('/workflows/ok');
        if (res.status === 200) answered++;
      }
      await waitFor(
        () => stats().retries > 0 && stats().dropped.buffer_full > 0,
        'retries and drops reported by the worker',
      );
      expect(answered).toBe(60);
      // stdout (the captured destination) kept the request line of every request.
      expect(capture.events('http_request')).toHaveLength(61);
      const during = stats();
      expect(during.maxBuffered).toBeLessThanOrEqual(40);
      expect(during.buffered).toBeLessThanOrEqual(40);
      expect(during.inFlight).toBeLessThanOrEqual(10);
    } finally {
      // Back, but rate limited for a while.
      receiver.failNext(429, 3, '0');
      await receiver.start();
    }
    await waitFor(() => receiver.failedOnPurpose === 3, 'the 429 answers');
    await request(server).get('/req-id');
    await waitFor(() => {
      const s = stats();
      const dropped =
        s.dropped.buffer_full +
        s.dropped.rejected +
        s.dropped.retries_exhausted +
        s.dropped.shutdown;
      return s.buffered === 0 && s.inFlight === 0 && s.sent + dropped === capture.raw.length;
    }, 'every line either delivered or counted as dropped');

    const s = stats();
    expect(s.dropped.rejected + s.dropped.retries_exhausted + s.dropped.shutdown).toBe(0);
    expect(s.sent).toBe(receiver.lineCount);
    expect(s.dropped.buffer_full).toBeGreaterThan(0);
    expect(s.maxBuffered).toBeLessThanOrEqual(40);
    // The newest line of all was delivered.
    expect(receiver.lines.at(-1)).toBe(capture.raw.at(-1));

    const metrics = (await request(server).get('/metrics')).text;
    expect(metrics).toContain(`magure_loki_lines_sent_total ${s.sent}`);
    expect(metrics).toContain(
      `magure_loki_lines_dropped_total{reason="buffer_full"} ${s.dropped.buffer_full}`,
    );
    expect(metrics).toContain(`magure_loki_push_retries_total ${s.retries}`);
    expect(metrics).toMatch(/magure_loki_buffered_lines 0\b/);
  });

  it('pushes the last batch when the application closes', async () => {
    // A batch interval far beyond the test: only the shutdown flush can deliver these lines.
    await start({ lokiBatchIntervalMs: 600_000 });
    await request(app!.getHttpServer()).get('/workflows/ok').set('X-Request-Id', 'req-last');
    expect(receiver.lineCount).toBe(0);
    await app!.close();
    app = undefined;
    expect(receiver.lines).toEqual(capture.raw);
    expect(receiver.lines.some((l) => l.includes('"workflow_completed"'))).toBe(true);
  });

  it('closes within the shutdown timeout when Loki never answers, counting the lost lines', async () => {
    receiver.hang = true;
    await start({ lokiBatchIntervalMs: 600_000, lokiTimeoutMs: 200, lokiShutdownTimeoutMs: 300 });
    await request(app!.getHttpServer()).get('/req-id');
    const pipeline = app!.get(LogPipeline);
    const written = capture.raw.length;
    await app!.close();
    app = undefined;
    expect(receiver.lineCount).toBe(0);
    expect(pipeline.loki!.stats.sent).toBe(0);
    expect(pipeline.loki!.stats.dropped.shutdown).toBeGreaterThanOrEqual(written);
  });
});
