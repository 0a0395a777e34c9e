import type { INestApplication } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { MonitoringModuleOptions } from '../../src/monitoring';
import { LogCapture, waitFor } from './log-capture';
import { LokiReceiver } from './loki-receiver';
import { createTrackedApp } from './tracked-app';

const PATH = '/api/analytics/recent-logs';

describe('GET /api/analytics/recent-logs', () => {
  let app: INestApplication | undefined;
  let capture: LogCapture;

  async function start(options: MonitoringModuleOptions = {}) {
    capture = new LogCapture();
    app = await createTrackedApp({ logDestination: capture, ...options });
    return app.getHttpServer();
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Traffic with lines of several levels, agents and requests. */
  async function traffic(server: unknown) {
    await request(server as never)
      .get('/workflows/ok')
      .set('X-Request-Id', 'req-ok');
    await request(server as never)
      .get('/llm/fail')
      .set('X-Request-Id', 'req-fail');
    await request(server as never)
      .get('/no/such/route')
      .set('X-Request-Id', 'req-404');
    await request(server as never)
      .get('/log/secrets')
      .set('X-Request-Id', 'req-secret');
  }

  describe('validation (the same with or without Loki)', () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit must be an integer from 1 to 1000'],
      ['limit=1001', 'limit must be an integer from 1 to 1000'],
      ['limit=abc', 'limit must be an integer from 1 to 1000'],
      ['limit=2.5', 'limit must be an integer from 1 to 1000'],
      ['limit=1&limit=2', 'limit must be given once, as a single value'],
      ['level=verbose', 'level must be one of trace, debug, info, warn, error, fatal'],
      ['from=yesterday', 'from must be an ISO 8601 date-time, e.g. 2025-01-15T10:00:00Z'],
      [
        'from=2025-02-30T00:00:00Z',
        'from must be an ISO 8601 date-time, e.g. 2025-01-15T10:00:00Z',
      ],
      ['to=2025-01-15T25:00:00Z', 'to must be an ISO 8601 date-time, e.g. 2025-01-15T10:00:00Z'],
      ['from=2025-01-16T00:00:00Z&to=2025-01-15T00:00:00Z', 'from must be earlier than to'],
      ['from=2025-01-15T00:00:00Z&to=2025-01-15T00:00:00Z', 'from must be earlier than to'],
      ['hours=0', 'hours must be a number greater than 0 and at most 720'],
      ['hours=-3', 'hours must be a number greater than 0 and at most 720'],
      ['hours=1e3', 'hours must be a number greater than 0 and at most 720'],
      ['hours=2&from=2025-01-15T00:00:00Z', 'hours cannot be combined with from'],
      [
        'from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z',
        'from and to must be at most 720 hours apart',
      ],
      [`agent_id=${'a'.repeat(257)}`, 'agent_id must have 1 to 256 characters'],
      ['request_id=', 'request_id must have 1 to 256 characters'],
      ['contains=', 'contains must have 1 to 500 characters'],
    ];

    it.each(
      cases.map(([query, message]) => ({
        query,
        message,
        shown: query.length > 60 ? `${query.slice(0, 40)}…` : query,
      })),
    )('answers 400 for $shown, naming the parameter', async ({ query, message }) => {
      const server = await start();
      const res = await request(server).get(`${PATH}?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
    });
  });

  describe('without Loki: from the in-process buffer of recent lines', () => {
    it('returns the newest lines first, with the level filter as a lowest level', async () => {
      const server = await start();
      await traffic(server);
      const res = await request(server).get(`${PATH}?limit=50&level=error`);
      expect(res.status).toBe(200);
      expect(res.body.source).toBe('memory');
      expect(res.body.logs.map((l: { message: string }) => l.message)).toEqual(['llm_call_failed']);
      const [entry] = res.body.logs;
      expect(entry).toMatchObject({
        level: 'error',
        message: 'llm_call_failed',
        fields: { request_id: 'req-fail', error_type: 'ProviderRateLimitError' },
      });
      expect(new Date(entry.timestamp).toISOString()).toBe(entry.timestamp);

      const warn = await request(server).get(`${PATH}?level=warn`);
      expect(
        warn.body.logs.map((l: { message: string; level: string }) => `${l.level}:${l.message}`),
      ).toEqual(['warn:http_request', 'error:llm_call_failed']);
    });

    it('filters by request, agent and workflow id and by text, and applies the limit', async () => {
      const server = await start();
      await traffic(server);
      const byRequest = await request(server).get(`${PATH}?request_id=req-ok&limit=3`);
      expect(byRequest.body.count).toBe(3);
      expect(byRequest.body.logs.map((l: { message: string }) => l.message)).toEqual([
        'http_request',
        'workflow_completed',
        'agent_execution_completed',
      ]);
      const byAgent = await request(server).get(`${PATH}?agent_id=kpi-calculator`);
      expect(
        new Set(byAgent.body.logs.map((l: { fields: { agent_id: string } }) => l.fields.agent_id)),
      ).toEqual(new Set(['kpi-calculator']));
      expect(byAgent.body.logs.map((l: { message: string }) => l.message)).toContain(
        'agent thinking',
      );
      const byWorkflow = await request(server).get(
        `${PATH}?workflow_id=kpi-report&contains=completed`,
      );
      expect(byWorkflow.body.logs.map((l: { message: string }) => l.message)).toEqual([
        'workflow_completed',
        'agent_execution_completed',
        'llm_call_completed',
        'tool_call_completed',
      ]);
      // Redacted lines stay redacted.
      const secrets = await request(server).get(
        `${PATH}?request_id=req-secret&contains=user%20object`,
      );
      expect(secrets.body.logs[0].fields.user.password).toBe('[REDACTED]');
    });

    it('applies the time range', async () => {
      const server = await start();
      await traffic(server);
      const past = await request(server).get(
        `${PATH}?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`,
      );
      expect(past.body).toEqual({
        source: 'memory',
        from: '2020-01-01T00:00:00.000Z',
        to: '2020-01-02T00:00:00.000Z',
        count: 0,
        logs: [],
      });
      const recent = await request(server).get(`${PATH}?hours=0.5&request_id=req-ok`);
      expect(recent.body.count).toBeGreaterThan(0);
    });

    it('keeps only recentLogsBufferSize lines, and answers 503 when the buffer is off', async () => {
      let server = await start({ recentLogsBufferSize: 3 });
      await traffic(server);
      const res = await request(server).get(`${PATH}?limit=1000`);
      expect(res.body.count).toBe(3);
      await app!.close();

      server = await start({ recentLogsBufferSize: 0 });
      const off = await request(server).get(PATH);
      expect(off.status).toBe(503);
      expect(off.body.message).toBe(
        'recent logs are not kept: enable Loki (lokiEnabled) or set recentLogsBufferSize above 0',
      );
    });
  });

  describe('with Loki', () => {
    const receiver = new LokiReceiver();
    beforeAll(() => receiver.start());
    afterAll(() => receiver.stop());
    beforeEach(() => receiver.reset());

    const withLoki = (options: MonitoringModuleOptions = {}) =>
      start({ lokiEnabled: true, lokiUrl: receiver.url, lokiBatchIntervalMs: 20, ...options });

    it('queries query_range with the filters as LogQL, newest first, in the same shape as the buffer', async () => {
      const server = await withLoki();
      await traffic(server);
      await waitFor(() => receiver.lineCount === capture.raw.length, 'lines shipped');

      const res = await request(server).get(`${PATH}?limit=50&level=error`);
      expect(res.status).toBe(200);
      expect(res.body.source).toBe('loki');
      expect(res.body.logs.map((l: { message: string }) => l.message)).toEqual(['llm_call_failed']);
      expect(res.body.logs[0]).toMatchObject({
        level: 'error',
        fields: { request_id: 'req-fail', error_type: 'ProviderRateLimitError' },
      });

      const byWorkflow = await request(server).get(
        `${PATH}?workflow_id=kpi-report&contains=completed&limit=2`,
      );
      expect(byWorkflow.body.logs.map((l: { message: string }) => l.message)).toEqual([
        'workflow_completed',
        'agent_execution_completed',
      ]);

      // The buffer answers the same query identically.
      const fromLoki = await request(server).get(`${PATH}?request_id=req-ok`);
      const loki = fromLoki.body.logs;
      const buffered = (await (async () => {
        await app!.close();
        const server2 = await start({ lokiEnabled: false });
        await traffic(server2);
        return (await request(server2).get(`${PATH}?request_id=req-ok`)).body.logs;
      })()) as { message: string; level: string }[];
      expect(loki.map((l: { message: string; level: string }) => [l.message, l.level])).toEqual(
        buffered.map((l) => [l.message, l.level]),
      );
    });

    it('passes ids with quotes and backslashes as literal values', async () => {
      const server = await withLoki();
      await traffic(server);
      await waitFor(() => receiver.lineCount === capture.raw.length, 'lines shipped');
      for (const hostile of ['kpi"} | json | level="info', 'kpi\\', 'x" or request_id=~".+']) {
        const res = await request(server).get(`${PATH}?agent_id=${encodeURIComponent(hostile)}`);
        expect(res.status).toBe(200);
        expect(res.body.logs).toEqual([]);
      }
    });

    it('answers 503 naming Loki when it is unreachable, and never hangs', async () => {
      const down = new LokiReceiver();
      await down.start();
      const url = down.url;
      await down.stop();
      const server = await start({ lokiEnabled: true, lokiUrl: url, lokiTimeoutMs: 300 });
      const res = await request(server).get(PATH);
      expect(res.status).toBe(503);
      expect(res.body.message).toBe(`Loki at ${url} is unreachable: ECONNREFUSED`);
    });

    it('answers 503 when Loki does not answer within lokiTimeoutMs', async () => {
      const silent: Server = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      try {
        const server = await start({
          lokiEnabled: true,
          lokiUrl: url,
          lokiTimeoutMs: 200,
          lokiShutdownTimeoutMs: 100,
        });
        const res = await request(server).get(PATH);
        expect(res.status).toBe(503);
        expect(res.body.message).toBe(`Loki at ${url} is unreachable: no answer within 200 ms`);
      } finally {
        silent.closeAllConnections();
        silent.close();
      }
    });

    it('answers from the buffer, with a warning, when Loki is unreachable and recentLogsFallbackToBuffer is on', async () => {
      const down = new LokiReceiver();
      await down.start();
      const url = down.url;
      await down.stop();
      const server = await start({
        lokiEnabled: true,
        lokiUrl: url,
        lokiTimeoutMs: 300,
        recentLogsFallbackToBuffer: true,
      });
      await traffic(server);
      const res = await request(server).get(`${PATH}?level=error`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        source: 'memory',
        warning: `Loki at ${url} is unreachable: ECONNREFUSED; answered from the in-process buffer`,
      });
      expect(res.body.logs.map((l: { message: string }) => l.message)).toEqual(['llm_call_failed']);
    });

    it("answers 502 with Loki's message when Loki rejects the query", async () => {
      // A stand-in that answers every query with 400, as Loki does for a query it cannot run.
      const rejecting: Server = createServer((_req, res) => {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        res.end('parse error : queries require at least one regexp or equality matcher');
      });
      await new Promise<void>((resolve) => rejecting.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(rejecting.address() as AddressInfo).port}`;
      try {
        const server = await start({
          lokiEnabled: true,
          lokiUrl: url,
          lokiShutdownTimeoutMs: 100,
          lokiMaxRetries: 0,
        });
        const res = await request(server).get(PATH);
        expect(res.status).toBe(502);
        expect(res.body.message).toBe(
          `Loki at ${url} answered 400: parse error : queries require at least one regexp or equality matcher`,
        );
      } finally {
        rejecting.closeAllConnections();
        rejecting.close();
      }
    });
  });
});
