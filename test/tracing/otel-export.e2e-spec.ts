import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import request from 'supertest';
import { MonitoringModule, type MonitoringModuleOptions } from '../../src/monitoring';
import { OtelTracing } from '../../src/monitoring/tracing/otel-tracing';
import { spanIdToHex64 } from '../../src/monitoring/tracing/trace-ids';
import { LogCapture, waitFor } from '../logging/log-capture';
import { RunsController, TRACED_WORKFLOW_PROVIDERS } from '../support/traced-workflow-app';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

/** `name` of every span, nested under its parent's name, children sorted. */
function tree(spans: { name: string; id: string; parent?: string }[], rootParent: string | undefined): unknown {
  const children = (parent: string | undefined): unknown[] =>
    spans
      .filter((s) => s.parent === parent)
      .map((s) => {
        const below = children(s.id);
        return below.length ? { [s.name]: below } : s.name;
      })
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return children(rootParent);
}

const EXPECTED_RUN = {
  'invoke_workflow invoice-audit': [
    { 'invoke_agent auditor': ['execute_tool lookup', { 'invoke_agent checker': ['chat house-model-7'] }] },
    { 'invoke_agent extractor': ['chat gpt-4o-mini', 'execute_tool ocr'] },
  ],
};

async function startApp(options: MonitoringModuleOptions, capture: LogCapture, configure?: (app: INestApplication) => void) {
  @Module({
    imports: [
      MonitoringModule.forRoot({
        defaultMetricsEnabled: false,
        analyticsEnabled: false,
        priceCatalogueEnabled: false,
        logDestination: capture,
        otelEnabled: true,
        ...options,
      }),
    ],
    controllers: [RunsController],
    providers: TRACED_WORKFLOW_PROVIDERS,
  })
  class TracedAppModule {}
  const app = await NestFactory.create(TracedAppModule, { logger: false });
  configure?.(app);
  await app.init();
  return app;
}

describe('OpenTelemetry export into the app\'s own SDK (in-memory exporter)', () => {
  let provider: NodeTracerProvider;
  let exporter: InMemorySpanExporter;
  let app: INestApplication | undefined;
  let capture: LogCapture;

  beforeAll(() => {
    exporter = new InMemorySpanExporter();
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
  });

  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    exporter.reset();
  });

  /** What the app's HTTP instrumentation does: a server span continuing the incoming trace, active in the request. */
  const serverSpans = (app: INestApplication) =>
    app.use((req: { headers: Record<string, string>; method: string }, res: { on(e: string, f: () => void): void }, next: () => void) => {
      const parent = propagation.extract(context.active(), req.headers);
      const span = trace.getTracer('app-http').startSpan(`${req.method} /audit`, { kind: SpanKind.SERVER }, parent);
      res.on('finish', () => span.end());
      context.with(trace.setSpan(parent, span), next);
    });

  it('sends the run as GenAI spans under the app\'s HTTP server span, in the incoming trace', async () => {
    capture = new LogCapture();
    app = await startApp({}, capture, serverSpans);
    const res = await request(app.getHttpServer()).get('/audit/run-otel/fail').set('traceparent', TRACEPARENT);
    expect(res.status).toBe(200);
    await waitFor(() => exporter.getFinishedSpans().length === 9, 'nine finished spans');
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.instrumentationScope.name === 'app-http')!;
    const ours = spans.filter((s) => s.instrumentationScope.name === 'nestjs-ai-monitoring');
    expect(ours).toHaveLength(8); // no second HTTP span: the app's server span stands for the request
    for (const s of spans) expect(s.spanContext().traceId).toBe(TRACE_ID);
    expect(server.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    const shape = ours.map((s) => ({ name: s.name, id: s.spanContext().spanId, parent: s.parentSpanContext?.spanId }));
    expect(tree(shape, server.spanContext().spanId)).toEqual([EXPECTED_RUN]);

    const byName = (name: string): ReadableSpan => ours.find((s) => s.name === name)!;
    const chat = byName('chat gpt-4o-mini');
    expect(chat.kind).toBe(SpanKind.CLIENT);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.agent.id': 'extractor',
    });
    expect(chat.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(byName('invoke_agent auditor').attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'auditor',
      'error.type': 'AuditError',
    });
    expect(byName('invoke_agent auditor').status).toMatchObject({ code: 2, message: 'totals do not match the ledger' });
    expect(byName('execute_tool lookup').attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup',
      'error.type': 'TypeError',
    });
    expect(byName('invoke_workflow invoice-audit').status.code).toBe(2);
    expect(byName('execute_tool ocr').status.code).toBe(0);
    // Children start within their parents; times are the recorded ones.
    for (const s of ours) {
      const parent = spans.find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId)!;
      const start = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
      expect(start(s.startTime)).toBeGreaterThanOrEqual(start(parent.startTime) - 1);
    }
    // Log lines of the request carry the same trace id.
    await waitFor(() => capture.lines.some((l) => l.event === 'http_request'), 'the request line');
    for (const line of capture.lines.filter((l) => l.trace_id !== undefined)) expect(line.trace_id).toBe(TRACE_ID);
  });

  it('exports prompts and completions only when logPrompts is on', async () => {
    capture = new LogCapture();
    app = await startApp({ logPrompts: true }, capture, serverSpans);
    await request(app.getHttpServer()).get('/audit/run-prompts/ok');
    await waitFor(() => exporter.getFinishedSpans().length === 9, 'nine finished spans');
    const tool = exporter.getFinishedSpans().find((s) => s.name === 'execute_tool ocr')!;
    expect(tool.attributes['gen_ai.tool.call.arguments']).toBe('{"page":1}');
    expect(tool.attributes['gen_ai.tool.call.result']).toBe('{"text":"result of {\\"page\\":1}"}');
  });
});

describe('OpenTelemetry export over OTLP/HTTP (module\'s own exporter, local receiver)', () => {
  let receiver: Server;
  const bodies: { resourceSpans: { resource: { attributes: Attr[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] }[] = [];
  let app: INestApplication | undefined;

  interface Attr {
    key: string;
    value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
  }
  interface OtlpSpan {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    name: string;
    kind: number;
    attributes: Attr[];
    status?: { code?: number };
  }

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json'))
          bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('sends the request and its run with GenAI attributes and the parents of the tree; span ids match the log lines', async () => {
    expect(trace.getTracerProvider().constructor.name).toBe('ProxyTracerProvider');
    const capture = new LogCapture();
    const { port } = receiver.address() as AddressInfo;
    app = await startApp({ otelEndpoint: `http://127.0.0.1:${port}/v1/traces`, otelServiceName: 'billing-api' }, capture);
    expect(app.get(OtelTracing).usesAppSdk).toBe(false);
    const res = await request(app.getHttpServer())
      .get('/audit/run-otlp/fail')
      .set('traceparent', TRACEPARENT)
      .set('X-Request-Id', 'req-otlp');
    expect(res.status).toBe(200);
    await waitFor(() => capture.lines.some((l) => l.event === 'http_request'), 'the request line');
    await app.get(OtelTracing).forceFlush();

    const resource = bodies[0]!.resourceSpans[0]!.resource;
    expect(resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'billing-api' } });
    const spans = bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    expect(spans).toHaveLength(9);
    for (const s of spans) expect(s.traceId).toBe(TRACE_ID);
    const http = spans.find((s) => s.name === 'GET /audit/:runId/:mode')!;
    expect(http.kind).toBe(2); // SERVER
    expect(http.parentSpanId).toBe(CALLER_SPAN);
    const shape = spans.map((s) => ({ name: s.name, id: s.spanId, parent: s.parentSpanId }));
    expect(tree(shape, http.spanId)).toEqual([EXPECTED_RUN]);

    const attr = (s: OtlpSpan, key: string) => s.attributes.find((a) => a.key === key)?.value;
    const chat = spans.find((s) => s.name === 'chat gpt-4o-mini')!;
    expect(chat.kind).toBe(3); // CLIENT
    expect(attr(chat, 'gen_ai.provider.name')).toEqual({ stringValue: 'openai' });
    expect(Number(attr(chat, 'gen_ai.usage.input_tokens')?.intValue)).toBe(1000);
    expect(Number(attr(chat, 'gen_ai.usage.output_tokens')?.intValue)).toBe(200);
    expect(attr(spans.find((s) => s.name === 'execute_tool lookup')!, 'error.type')).toEqual({ stringValue: 'TypeError' });

    // The exported span ids are the module's own span ids (span_id of the log lines), in 64-bit form.
    const lines = capture.lines.filter((l) => l.request_id === 'req-otlp' && l.event !== undefined);
    expect(lines).toHaveLength(9);
    for (const line of lines) {
      const name =
        line.event === 'http_request'
          ? 'GET /audit/:runId/:mode'
          : spans.find((s) => s.spanId === spanIdToHex64(String(line.span_id)))?.name;
      expect({ event: line.event, found: name !== undefined }).toEqual({ event: line.event, found: true });
    }
    expect(http.spanId).toBe(spanIdToHex64(String(lines.find((l) => l.event === 'http_request')!.span_id)));
  });
});
