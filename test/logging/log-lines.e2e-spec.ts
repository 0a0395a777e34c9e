import { Controller, Get, Logger, Module, type INestApplication } from '@nestjs/common';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import request from 'supertest';
import { MonitoringModule, type MonitoringModuleOptions } from '../../src/monitoring';
import { createAppOn, describeEachAdapter, type HttpAdapterSettings } from '../support/http-adapters';
import { LogCapture, waitFor } from './log-capture';
import { createTrackedApp } from './tracked-app';

const EVENT_NAMES = [
  'llm_call_completed',
  'llm_call_failed',
  'agent_execution_completed',
  'agent_execution_failed',
  'tool_call_completed',
  'tool_call_failed',
  'workflow_completed',
  'workflow_failed',
  'workflow_timeout',
  'http_request',
];

describeEachAdapter('log lines of tracked operations (real Nest app, nestjs-pino, lines captured in memory)', (adapter) => {
  let app: INestApplication | undefined;
  let capture: LogCapture;

  async function start(
    options: MonitoringModuleOptions = {},
    configure?: (app: INestApplication) => void,
    settings: HttpAdapterSettings = {},
  ) {
    capture = new LogCapture();
    app = await createTrackedApp({ logDestination: capture, ...options }, configure, adapter, settings);
    capture.clear(); // startup lines are not under test here
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Lines of one request, by request id. */
  const ofRequest = (id: string) => capture.lines.filter((l) => l.request_id === id);

  it('links the lines of a request as one trace: the incoming traceparent trace id, each span under its parent', async () => {
    await start();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await request(app!.getHttpServer())
      .get('/workflows/ok')
      .set('X-Request-Id', 'req-traced')
      .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    expect(res.status).toBe(200);
    const lines = ofRequest('req-traced');
    expect(lines.length).toBeGreaterThanOrEqual(7);
    for (const line of lines) expect(line.trace_id).toBe(traceId);
    const byEvent = (name: string) => lines.find((l) => l.event === name)!;
    const http = byEvent('http_request');
    const workflow = byEvent('workflow_completed');
    const agent = byEvent('agent_execution_completed');
    const llm = byEvent('llm_call_completed');
    const tool = byEvent('tool_call_completed');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const line of [http, workflow, agent, llm, tool]) expect(line.span_id).toMatch(uuid);
    expect(new Set([http, workflow, agent, llm, tool].map((l) => l.span_id)).size).toBe(5);
    expect(http.parent_span_id).toBeUndefined();
    expect(workflow.parent_span_id).toBe(http.span_id);
    expect(agent.parent_span_id).toBe(workflow.span_id);
    expect(llm.parent_span_id).toBe(agent.span_id);
    expect(tool.parent_span_id).toBe(agent.span_id);
    // Application lines carry the span they were written in.
    expect(lines.find((l) => l.msg === 'agent thinking')!.span_id).toBe(agent.span_id);
    expect(lines.find((l) => l.msg === 'starting workflow')!.span_id).toBe(http.span_id);

    // Without a (valid) traceparent each request starts a trace of its own.
    await request(app!.getHttpServer()).get('/workflows/ok').set('X-Request-Id', 'req-new-1');
    await request(app!.getHttpServer())
      .get('/workflows/ok')
      .set('X-Request-Id', 'req-new-2')
      .set('traceparent', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`);
    await waitFor(() => ofRequest('req-new-2').some((l) => l.event === 'http_request'), 'the request line');
    const first = ofRequest('req-new-1').map((l) => l.trace_id);
    const second = ofRequest('req-new-2').map((l) => l.trace_id);
    expect(new Set(first).size).toBe(1);
    expect(new Set(second).size).toBe(1);
    expect(first[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(second[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(first[0]).not.toBe(second[0]);
    expect(second[0]).not.toBe('0'.repeat(32));
  });

  it('writes exactly one line per finished operation of a workflow run, with flat fields and the context ids', async () => {
    await start();
    const res = await request(app!.getHttpServer())
      .get('/workflows/ok')
      .set('X-Request-Id', 'req-abc123');
    expect(res.status).toBe(200);

    const lines = ofRequest('req-abc123');
    // Application lines and event lines in the order things happened.
    expect(lines.map((l) => l.msg ?? l.event)).toEqual([
      'starting workflow',
      'agent thinking',
      'tool_call_completed',
      'llm_call_completed',
      'agent_execution_completed',
      'workflow_completed',
      'http_request',
    ]);
    const events = lines.filter((l) => l.event !== undefined).map((l) => l.event);
    expect(events).toEqual([
      'tool_call_completed',
      'llm_call_completed',
      'agent_execution_completed',
      'workflow_completed',
      'http_request',
    ]);

    const llm = lines.find((l) => l.event === 'llm_call_completed')!;
    expect(Object.keys(llm).sort()).toEqual(
      [
        'agent_id',
        'completion_tokens',
        'cost_cents',
        'event',
        'hostname',
        'latency_ms',
        'level',
        'model',
        'parent_span_id',
        'pid',
        'prompt_tokens',
        'provider',
        'request_id',
        'span_id',
        'streamed',
        'tenant_id',
        'timestamp',
        'trace_id',
        'user_id',
        'workflow_id',
        'workflow_run_id',
      ].sort(),
    );
    expect(llm).toMatchObject({
      level: 'info',
      provider: 'openai',
      model: 'gpt-4o',
      prompt_tokens: 1250,
      completion_tokens: 380,
      // gpt-4o: 0.25 ¢ per 1K input tokens, 1.0 ¢ per 1K output tokens
      cost_cents: 1.25 * 0.25 + 0.38 * 1.0,
      streamed: false,
      request_id: 'req-abc123',
      agent_id: 'kpi-calculator',
      workflow_id: 'kpi-report',
      workflow_run_id: 'run-ok',
      user_id: 'user-7',
      tenant_id: 'tenant-3',
    });
    expect(typeof llm.latency_ms).toBe('number');
    expect(new Date(llm.timestamp).toISOString()).toBe(llm.timestamp);

    expect(lines.find((l) => l.event === 'tool_call_completed')).toMatchObject({
      tool_name: 'search',
      agent_id: 'kpi-calculator',
      workflow_id: 'kpi-report',
      request_id: 'req-abc123',
    });
    expect(lines.find((l) => l.event === 'agent_execution_completed')).toMatchObject({
      agent_id: 'kpi-calculator',
      agent_type: 'llm',
      llm_calls_count: 1,
      tool_calls_count: 1,
      tokens_used: 1630,
      workflow_id: 'kpi-report',
      request_id: 'req-abc123',
    });
    expect(lines.find((l) => l.event === 'workflow_completed')).toMatchObject({
      workflow_id: 'kpi-report',
      workflow_run_id: 'run-ok',
      status: 'completed',
      steps_executed: 1,
      steps_failed: 0,
      llm_calls_count: 1,
      tokens_used: 1630,
      request_id: 'req-abc123',
    });
    expect(lines.find((l) => l.event === 'http_request')).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/workflows/:mode',
      path: '/workflows/ok',
      status_code: 200,
      client_ip: '127.0.0.1',
      request_id: 'req-abc123',
      user_id: 'user-7',
    });
    // No prompt text unless opted in.
    expect(lines.some((l) => 'prompt' in l || 'completion' in l)).toBe(false);
  });

  it('writes the failure lines with error type and message, and no stack at info level', async () => {
    await start();
    const server = app!.getHttpServer();
    await request(server).get('/llm/fail').set('X-Request-Id', 'r-llm');
    await request(server).get('/tool/fail').set('X-Request-Id', 'r-tool');
    await request(server).get('/agent/fail').set('X-Request-Id', 'r-agent');
    await request(server).get('/workflows/fail').set('X-Request-Id', 'r-wf');
    await request(server).get('/workflows/timeout').set('X-Request-Id', 'r-timeout');

    const one = (id: string, event: string) => {
      const found = ofRequest(id).filter((l) => l.event === event);
      expect(found).toHaveLength(1);
      return found[0]!;
    };
    expect(one('r-llm', 'llm_call_failed')).toMatchObject({
      level: 'error',
      provider: 'openai',
      model: 'gpt-4o',
      error_type: 'ProviderRateLimitError',
      error_message: 'rate limited by provider',
    });
    expect(one('r-llm', 'llm_call_failed')).not.toHaveProperty('prompt_tokens');
    expect(one('r-tool', 'tool_call_failed')).toMatchObject({
      level: 'error',
      tool_name: 'calculator',
      error_type: 'TypeError',
      error_message: 'tool calculator broke',
    });
    expect(one('r-agent', 'agent_execution_failed')).toMatchObject({
      level: 'error',
      agent_id: 'kpi-calculator',
      error_type: 'RangeError',
      error_message: 'agent gave up',
    });
    expect(one('r-wf', 'workflow_failed')).toMatchObject({
      level: 'error',
      workflow_id: 'kpi-report',
      status: 'failed',
      error_type: 'Error',
      error_message: 'step 2 failed',
    });
    expect(one('r-timeout', 'workflow_timeout')).toMatchObject({
      level: 'error',
      status: 'timeout',
      error_type: 'WorkflowTimeoutError',
      error_message: 'took too long',
    });
    expect(capture.lines.some((l) => 'error_stack' in l)).toBe(false);
    // Every event line has a known name.
    for (const l of capture.lines)
      if (l.event !== undefined) expect(EVENT_NAMES).toContain(l.event);
  });

  it('adds the stack of failures at debug level', async () => {
    await start({ logLevel: 'debug' });
    await request(app!.getHttpServer()).get('/tool/fail').set('X-Request-Id', 'r-debug');
    const failed = ofRequest('r-debug').find((l) => l.event === 'tool_call_failed')!;
    expect(failed.error_stack).toContain('TypeError: tool calculator broke');
  });

  it('honours the log level: at warn, info event lines are not written and error lines are', async () => {
    await start({ logLevel: 'warn' });
    await request(app!.getHttpServer()).get('/workflows/fail').set('X-Request-Id', 'r-warn');
    expect(ofRequest('r-warn').map((l) => l.event)).toEqual(['workflow_failed']);
  });

  it('writes one request line per request, reusing the request id of the middleware for pino-http', async () => {
    await start();
    const res = await request(app!.getHttpServer()).get('/req-id');
    const id = res.headers['x-request-id'] as string;
    expect(res.body).toEqual({ id });
    const lines = ofRequest(id);
    expect(lines.filter((l) => l.event === 'http_request')).toHaveLength(1);
    // pino-http writes no "request completed" line of its own, and no second request-id key.
    expect(
      capture.lines.filter((l) => l.msg === 'request completed' || 'req' in l || 'res' in l),
    ).toEqual([]);
    expect(capture.raw.every((raw) => raw.split('"request_id"').length <= 2)).toBe(true);

    const given = await request(app!.getHttpServer()).get('/req-id').set('X-Request-Id', 'given-1');
    expect(given.body).toEqual({ id: 'given-1' });
    expect(given.headers['x-request-id']).toBe('given-1');

    // nestjs-pino's request store is open: PinoLogger.assign() works and keeps the context ids.
    await request(app!.getHttpServer()).get('/pino/assign').set('X-Request-Id', 'r-assign');
    expect(ofRequest('r-assign').find((l) => l.msg === 'assigned')).toMatchObject({
      order_id: 'o-1',
      step: 2,
    });

    const missing = await request(app!.getHttpServer()).get('/no/such/route');
    expect(missing.status).toBe(404);
    expect(ofRequest(missing.headers['x-request-id'] as string)).toMatchObject([
      { event: 'http_request', level: 'warn', route: 'unmatched', status_code: 404 },
    ]);
  });

  it("adds the context ids to the application's own Logger lines inside requests, workflows and agents", async () => {
    await start();
    await request(app!.getHttpServer()).get('/workflows/ok').set('X-Request-Id', 'req-ctx');
    const started = capture.lines.find((l) => l.msg === 'starting workflow')!;
    expect(started).toMatchObject({
      level: 'info',
      context: 'TrackedController',
      request_id: 'req-ctx',
      user_id: 'user-7',
      tenant_id: 'tenant-3',
    });
    expect(started).not.toHaveProperty('workflow_id');
    expect(capture.lines.find((l) => l.msg === 'agent thinking')).toMatchObject({
      context: 'KpiAgent',
      request_id: 'req-ctx',
      workflow_id: 'kpi-report',
      workflow_run_id: 'run-ok',
      agent_id: 'kpi-calculator',
    });
  });

  it('trusts X-Forwarded-For for client_ip only when the application trusts its proxy', async () => {
    await start();
    await request(app!.getHttpServer())
      .get('/req-id')
      .set('X-Forwarded-For', '203.0.113.9')
      .set('X-Request-Id', 'r-ip1');
    expect(ofRequest('r-ip1').find((l) => l.event === 'http_request')!.client_ip).toBe('127.0.0.1');
    await app!.close();

    await start({}, undefined, { trustProxy: 'loopback' });
    await request(app!.getHttpServer())
      .get('/req-id')
      .set('X-Forwarded-For', '203.0.113.9')
      .set('X-Request-Id', 'r-ip2');
    expect(ofRequest('r-ip2').find((l) => l.event === 'http_request')!.client_ip).toBe(
      '203.0.113.9',
    );
  });

  it('redacts secret headers and secret keys at any depth of logged objects, without touching the rest', async () => {
    await start();
    await request(app!.getHttpServer())
      .get('/log/secrets?note=hello')
      .set('X-Request-Id', 'r-secret');
    const line = capture.lines.find((l) => l.msg === 'user object')!;
    expect(line).toMatchObject({
      request_id: 'r-secret',
      note: 'hello',
      headers: {
        authorization: '[REDACTED]',
        cookie: '[REDACTED]',
        'x-api-key': '[REDACTED]',
        accept: 'json',
      },
      user: {
        name: 'ada',
        password: '[REDACTED]',
        profile: { apiKey: '[REDACTED]', settings: { token: '[REDACTED]', theme: 'dark' } },
      },
      items: [{ secret: '[REDACTED]', id: 1 }],
      prompt_tokens: 12,
    });
    const all = capture.raw.join('\n');
    for (const secret of ['sk-live-123', 'sid=abc', 'key-1', 'hunter2', 'k-9', 't-1', 's-1'])
      expect(all).not.toContain(secret);
  });

  it('redacts secrets in decorator attributes, which are logged flat', async () => {
    await start();
    await request(app!.getHttpServer()).get('/req-id').set('X-Request-Id', 'r-attr');
    expect(ofRequest('r-attr').find((l) => l.event === 'tool_call_completed')).toMatchObject({
      tool_name: 'geocoder',
      region: 'eu',
      credentials: '[REDACTED]',
      options: { apiKey: '[REDACTED]', zoom: 3 },
    });
    expect(capture.raw.join('\n')).not.toContain('k-1');
  });

  it('writes human-readable lines instead of JSON with logPretty', async () => {
    await start({ logPretty: true });
    await request(app!.getHttpServer()).get('/workflows/ok').set('X-Request-Id', 'r-pretty');
    await waitFor(() => capture.raw.some((l) => l.includes('http_request')), 'pretty request line');
    const text = capture.raw.join('\n');
    expect(text).toMatch(/INFO.*: starting workflow/);
    expect(text).toMatch(/INFO.*: workflow_completed/);
    expect(text).toContain('request_id: "r-pretty"');
    expect(capture.raw.some((l) => l.startsWith('{'))).toBe(false);
  });

  it('logs prompt and completion only when logPrompts is on, truncated to logPromptMaxLength', async () => {
    await start({ logPrompts: true, logPromptMaxLength: 30 });
    const server = app!.getHttpServer();
    await request(server).get('/workflows/ok').set('X-Request-Id', 'r-p1');
    await request(server).get('/llm/stream').set('X-Request-Id', 'r-p2');

    expect(ofRequest('r-p1').find((l) => l.event === 'llm_call_completed')).toMatchObject({
      prompt: 'user: compute the KPI',
      completion: 'The KPI is 42.',
    });
    expect(ofRequest('r-p1').find((l) => l.event === 'llm_call_completed')).not.toHaveProperty(
      'prompt_truncated',
    );
    // Anthropic stream: system + messages, completion accumulated from the deltas.
    const streamed = ofRequest('r-p2').find((l) => l.event === 'llm_call_completed')!;
    expect(streamed).toMatchObject({
      provider: 'anthropic',
      model: 'claude-3-5-sonnet-20241022',
      streamed: true,
      prompt_tokens: 20,
      completion_tokens: 7,
      prompt: 'system: You are terse.\nuser: S',
      prompt_truncated: true,
      prompt_length: 'system: You are terse.\nuser: Say hello'.length,
      completion: 'Hello world',
    });
    expect(typeof streamed.time_to_first_chunk_ms).toBe('number');
  });

  it('works the same with forRootAsync', async () => {
    capture = new LogCapture();
    @Controller()
    class PingController {
      private readonly logger = new Logger('Ping');
      @Get('ping')
      ping() {
        this.logger.log('pong');
        return 'pong';
      }
    }
    @Module({
      imports: [
        MonitoringModule.forRootAsync({
          useFactory: async () => ({ logDestination: capture, analyticsEnabled: false }),
        }),
      ],
      controllers: [PingController],
    })
    class AsyncAppModule {}
    app = await createAppOn(adapter, AsyncAppModule, { bufferLogs: true }, (created) =>
      created.useLogger(created.get(PinoNestLogger)),
    );
    app.flushLogs();
    await request(app.getHttpServer()).get('/ping').set('X-Request-Id', 'r-async');
    expect(ofRequest('r-async').map((l) => l.msg ?? l.event)).toEqual(['pong', 'http_request']);
  });
});
