/**
 * One application of the HTTP benchmark, run in its own process by `http.bench.ts`:
 * `node dist-bench/bench/http-app.js <variant> <express|fastify>`. A bare Nest 11 app with one
 * route, `GET /chat`, which runs an agent whose `execute` calls an LLM provider answering at once
 * with an OpenAI-shaped completion; the variants add monitoring to it. Prints `{"port":N}` once
 * listening, then serves until killed.
 */
import 'reflect-metadata';
import type { Writable } from 'node:stream';

/** What the parent asks for. */
export type HttpBenchVariant =
  | 'bare'
  | 'bare+als'
  | 'bare+pino-http'
  | 'metrics'
  | 'metrics+logs'
  | 'all-sinks'
  | 'peer';
export type HttpBenchAdapter = 'express' | 'fastify';

const COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'The KPI is 42.' }, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 120, completion_tokens: 48, total_tokens: 168 },
};
const REQUEST = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is the KPI?' }] };

async function main(): Promise<void> {
  const variant = process.argv[2] as HttpBenchVariant;
  const adapterName = (process.argv[3] ?? 'express') as HttpBenchAdapter;
  // The peer stack instruments modules as they are loaded: it must be set up before Nest is.
  const peer = variant === 'peer' ? setUpPeerTracing() : undefined;

  const common = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const monitoring = await import('../src/monitoring');
  const { Controller, Get, Inject, Injectable, Module } = common;

  // The same classes with and without the module's decorators (without: the bare and peer apps).
  const tracked = !variant.startsWith('bare') && variant !== 'peer';
  const decorate = <T>(decorator: () => MethodDecorator, target: T, key: string) => {
    if (!tracked) return;
    const proto = (target as { prototype: object }).prototype;
    const descriptor = Object.getOwnPropertyDescriptor(proto, key)!;
    Object.defineProperty(proto, key, decorator()(proto, key, descriptor) ?? descriptor);
  };

  @Injectable()
  class ChatProvider {
    readonly provider = 'openai';
    async complete(_request: typeof REQUEST): Promise<typeof COMPLETION> {
      if (peer)
        return peer.span(
          'llm_call',
          {
            provider: 'openai',
            model: COMPLETION.model,
            prompt_tokens: 120,
            completion_tokens: 48,
          },
          () => COMPLETION,
        );
      return COMPLETION;
    }
  }
  decorate(() => monitoring.TrackLLM(), ChatProvider, 'complete');

  @Injectable()
  class ChatAgent {
    readonly agentId = 'chat-agent';
    readonly agentType = 'llm';
    constructor(@Inject(ChatProvider) private readonly llm: ChatProvider) {}
    async execute(): Promise<string> {
      const run = async () => {
        const completion = await this.llm.complete(REQUEST);
        return completion.choices[0]!.message.content;
      };
      if (peer)
        return peer.spanAsync(
          'agent_execution',
          { agent_id: this.agentId, agent_type: this.agentType },
          run,
        );
      return run();
    }
  }
  decorate(() => monitoring.TrackAgent(), ChatAgent, 'execute');

  @Controller()
  class ChatController {
    constructor(@Inject(ChatAgent) private readonly agent: ChatAgent) {}
    @Get('chat')
    async chat(): Promise<{ answer: string }> {
      return { answer: await this.agent.execute() };
    }
  }

  const imports: unknown[] = tracked
    ? [monitoring.MonitoringModule.forRoot(monitoringOptions(variant))]
    : [];
  if (variant === 'bare+pino-http') {
    // What many apps have before any monitoring: nestjs-pino's default setup, one pino-http access
    // line per request (with its request id and child logger), written to /dev/null.
    const { LoggerModule } = await import('nestjs-pino');
    imports.push(LoggerModule.forRoot({ pinoHttp: { stream: devNull() } }));
  }
  @Module({ imports: imports as never[], controllers: [ChatController], providers: [ChatProvider, ChatAgent] })
  class BenchAppModule {}

  const adapter =
    adapterName === 'fastify'
      ? new (await import('@nestjs/platform-fastify')).FastifyAdapter()
      : new (await import('@nestjs/platform-express')).ExpressAdapter();
  const app = await NestFactory.create(BenchAppModule, adapter, { logger: false });
  if (variant === 'bare+als') {
    // The floor of any design that carries a request context through async calls on this Node:
    // the bare app plus one AsyncLocalStorage.run() per request.
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const storage = new AsyncLocalStorage<{ id: number }>();
    let id = 0;
    app.use((_req: unknown, _res: unknown, next: () => void) => storage.run({ id: ++id }, next));
  }
  if (peer) {
    // express-prom-bundle: request counter and duration histogram by method, path and status.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const promBundle = require('express-prom-bundle') as (
      options: Record<string, unknown>,
    ) => unknown;
    app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
  }
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  const stop = () => {
    void app.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Module options per variant; logs go to /dev/null where they are on. */
function monitoringOptions(variant: HttpBenchVariant) {
  const base = { appName: 'bench', priceCatalogueEnabled: false, analyticsEnabled: false };
  switch (variant) {
    case 'metrics':
      return { ...base, logLevel: 'silent' as const, recentLogsBufferSize: 0 };
    case 'metrics+logs':
      return { ...base, logDestination: devNull() };
    case 'all-sinks':
      return {
        ...base,
        logDestination: devNull(),
        analyticsEnabled: true,
        analyticsApiEnabled: false,
        analyticsUiEnabled: false,
        databaseUrl:
          process.env.BENCH_HTTP_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/bench_http',
      };
    default:
      throw new Error(`no module options for ${variant}`);
  }
}

/** Lines written to /dev/null through an asynchronous sonic-boom, as stdout would be written. */
function devNull(): Writable {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino');
  return pino.destination({ dest: '/dev/null', sync: false }) as unknown as Writable;
}

/**
 * The stack a team would otherwise assemble: OpenTelemetry auto-instrumentation of http, Express
 * and Nest with a BatchSpanProcessor (spans dropped by a no-op exporter), a span and a pino line
 * (to /dev/null) per LLM call and agent run; express-prom-bundle is added once the app exists.
 */
function setUpPeerTracing() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeTracerProvider } =
    require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { registerInstrumentations } =
    require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } =
    require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { NestInstrumentation } =
    require('@opentelemetry/instrumentation-nestjs-core') as typeof import('@opentelemetry/instrumentation-nestjs-core');
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const pino = require('pino') as typeof import('pino');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const exporter = {
    export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }),
    shutdown: () => Promise.resolve(),
  };
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation(),
      new ExpressInstrumentation(),
      new NestInstrumentation(),
    ],
  });
  const tracer = api.trace.getTracer('bench');
  const logger = pino({}, pino.destination({ dest: '/dev/null', sync: false }));
  return {
    span<T>(name: string, fields: Record<string, string | number>, fn: () => T): T {
      const span = tracer.startSpan(name);
      const result = fn();
      span.setAttributes(fields);
      span.end();
      logger.info(fields, name);
      return result;
    },
    spanAsync<T>(
      name: string,
      fields: Record<string, string | number>,
      fn: () => Promise<T>,
    ): Promise<T> {
      return tracer.startActiveSpan(name, async (span) => {
        try {
          return await fn();
        } finally {
          span.setAttributes(fields);
          span.end();
          logger.info(fields, name);
        }
      });
    },
  };
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
