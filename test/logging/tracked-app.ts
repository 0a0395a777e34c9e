import 'reflect-metadata';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Logger,
  Module,
  Param,
  Query,
  Req,
  type INestApplication,
} from '@nestjs/common';
import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import {
  MonitoringContext,
  MonitoringModule,
  TrackAgent,
  TrackLLM,
  TrackTool,
  TrackWorkflow,
  type MonitoringModuleOptions,
} from '../../src/monitoring';
import { createAppOn, type HttpAdapterName, type HttpAdapterSettings } from '../support/http-adapters';

/** An error class whose name the lines must carry. */
export class ProviderRateLimitError extends Error {}
export class WorkflowTimeoutError extends Error {
  override name = 'TimeoutError';
}

/** OpenAI-shaped provider. */
@Injectable()
export class ChatProvider {
  readonly provider = 'openai';

  @TrackLLM()
  async complete(request: {
    model: string;
    messages: { role: string; content: string }[];
    fail?: boolean;
  }) {
    await Promise.resolve();
    if (request.fail) throw new ProviderRateLimitError('rate limited by provider');
    return {
      model: request.model,
      choices: [{ message: { role: 'assistant', content: 'The KPI is 42.' } }],
      usage: { prompt_tokens: 1250, completion_tokens: 380 },
    };
  }

  /** Anthropic-shaped stream. */
  @TrackLLM({ provider: 'anthropic' })
  async *stream(request: {
    model: string;
    system: string;
    messages: { role: string; content: string }[];
  }) {
    yield {
      type: 'message_start',
      message: { model: request.model, usage: { input_tokens: 20, output_tokens: 1 } },
    };
    yield { type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hello ' } };
    yield { type: 'content_block_delta', delta: { type: 'text_delta', text: 'world' } };
    yield { type: 'message_delta', usage: { output_tokens: 7 } };
  }
}

@Injectable()
export class ToolRunner {
  @TrackTool()
  async invoke(name: string, fail = false) {
    await Promise.resolve();
    if (fail) throw new TypeError(`tool ${name} broke`);
    return { ok: true };
  }

  /** A tool whose attributes carry a secret. */
  @TrackTool({
    toolName: 'geocoder',
    attributes: () => ({
      region: 'eu',
      credentials: { user: 'svc' },
      options: { apiKey: 'k-1', zoom: 3 },
    }),
  })
  locate() {
    return { lat: 1, lon: 2 };
  }
}

@Injectable()
export class KpiAgent {
  readonly agentId = 'kpi-calculator';
  readonly agentType = 'llm';
  private readonly logger = new Logger('KpiAgent');

  constructor(
    @Inject(ChatProvider) private readonly llm: ChatProvider,
    @Inject(ToolRunner) private readonly tools: ToolRunner,
  ) {}

  @TrackAgent()
  async execute(input: { fail?: boolean }) {
    this.logger.log('agent thinking');
    await this.tools.invoke('search');
    await this.llm.complete({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'compute the KPI' }],
    });
    if (input.fail) throw new RangeError('agent gave up');
    return 'done';
  }
}

@Injectable()
export class WorkflowExecutor {
  constructor(@Inject(KpiAgent) private readonly agent: KpiAgent) {}

  @TrackWorkflow()
  async run(definition: { workflowId: string; runId?: string; mode?: 'fail' | 'timeout' }) {
    await this.agent.execute({});
    if (definition.mode === 'fail') throw new Error('step 2 failed');
    if (definition.mode === 'timeout') throw new WorkflowTimeoutError('took too long');
    return { status: 'completed' };
  }
}

@Controller()
export class TrackedController {
  private readonly logger = new Logger('TrackedController');

  constructor(
    @Inject(WorkflowExecutor) private readonly executor: WorkflowExecutor,
    @Inject(ChatProvider) private readonly llm: ChatProvider,
    @Inject(ToolRunner) private readonly tools: ToolRunner,
    @Inject(KpiAgent) private readonly agent: KpiAgent,
    @Inject(PinoLogger) private readonly pino: PinoLogger,
  ) {}

  @Get('pino/assign')
  assign() {
    this.pino.assign({ order_id: 'o-1' });
    this.pino.info({ step: 2 }, 'assigned');
    return { ok: true };
  }

  @Get('workflows/:mode')
  async workflow(@Param('mode') mode: string) {
    MonitoringContext.setPrincipal({ userId: 'user-7', tenantId: 'tenant-3' });
    this.logger.log('starting workflow');
    try {
      await this.executor.run({
        workflowId: 'kpi-report',
        runId: `run-${mode}`,
        ...(mode === 'fail' || mode === 'timeout' ? { mode } : {}),
      });
    } catch {
      return { ok: false };
    }
    return { ok: true };
  }

  @Get('llm/fail')
  async llmFail() {
    await this.llm.complete({ model: 'gpt-4o', messages: [], fail: true }).catch(() => undefined);
    return { ok: true };
  }

  @Get('llm/stream')
  async llmStream() {
    let text = '';
    for await (const e of this.llm.stream({
      model: 'claude-3-5-sonnet-20241022',
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'Say hello' }],
    })) {
      const delta = (e as { delta?: { text?: string } }).delta;
      if (delta?.text) text += delta.text;
    }
    return { text };
  }

  @Get('tool/fail')
  async toolFail() {
    await this.tools.invoke('calculator', true).catch(() => undefined);
    return { ok: true };
  }

  @Get('agent/fail')
  async agentFail() {
    await this.agent.execute({ fail: true }).catch(() => undefined);
    return { ok: true };
  }

  @Get('req-id')
  requestId(@Req() req: { id?: unknown }) {
    this.tools.locate();
    return { id: req.id };
  }

  @Get('log/secrets')
  logSecrets(@Query('note') note?: string) {
    this.logger.log(
      {
        note,
        headers: {
          authorization: 'Bearer sk-live-123',
          cookie: 'sid=abc',
          'x-api-key': 'key-1',
          accept: 'json',
        },
        user: {
          name: 'ada',
          password: 'hunter2',
          profile: { apiKey: 'k-9', settings: { token: 't-1', theme: 'dark' } },
        },
        items: [{ secret: 's-1', id: 1 }],
        prompt_tokens: 12,
      },
      'user object',
    );
    return { ok: true };
  }
}

/** A real Nest application with the monitoring module and tracked classes. */
export async function createTrackedApp(
  options: MonitoringModuleOptions,
  configure?: (app: INestApplication) => void,
  adapter: HttpAdapterName = 'express',
  settings: HttpAdapterSettings = {},
): Promise<INestApplication> {
  @Module({
    imports: [
      MonitoringModule.forRoot({ prometheusEnabled: true, analyticsEnabled: false, ...options }),
    ],
    controllers: [TrackedController],
    providers: [ChatProvider, ToolRunner, KpiAgent, WorkflowExecutor],
  })
  class TrackedAppModule {}

  const app = await createAppOn(
    adapter,
    TrackedAppModule,
    { bufferLogs: true },
    (created) => {
      created.useLogger(created.get(PinoNestLogger));
      configure?.(created);
    },
    settings,
  );
  // Logs are buffered until flushed (app.listen() flushes them too).
  app.flushLogs();
  return app;
}
