import {
  Controller,
  Get,
  Headers,
  Injectable,
  Module,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory, type AbstractHttpAdapter } from '@nestjs/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MonitoringModule,
  TrackAgent,
  TrackLLM,
  TrackWorkflow,
  type MonitoringModuleOptions,
} from '../../src/monitoring';

/** Thrown by the simulated provider, like an SDK's rate-limit error. */
export class RateLimitError extends Error {
  override name = 'RateLimitError';
}

/** A chat model client shaped like the OpenAI SDK (returns `usage` with prompt/completion tokens). */
@Injectable()
export class ChatModel {
  readonly provider = 'openai';

  @TrackLLM()
  async complete(request: {
    model: string;
    promptTokens: number;
    completionTokens?: number;
    fail?: boolean;
  }) {
    await Promise.resolve();
    if (request.fail) throw new RateLimitError('rate limited');
    return {
      model: request.model,
      choices: [{ message: { content: 'ok' } }],
      usage: {
        prompt_tokens: request.promptTokens,
        completion_tokens: request.completionTokens ?? 0,
      },
    };
  }
}

/** An agent that asks the model twice. */
@Injectable()
export class ResearchAgent {
  readonly agentId = 'research-agent';
  readonly agentType = 'rag';

  constructor(private readonly model: ChatModel) {}

  @TrackAgent()
  async execute(question: string): Promise<string> {
    await this.model.complete({ model: 'gpt-4o-mini', promptTokens: 100, completionTokens: 20 });
    await this.model.complete({ model: 'gpt-4o-mini', promptTokens: 100, completionTokens: 20 });
    return `answer to ${question}`;
  }
}

/** An agent that makes many small calls (for exact cost sums). */
@Injectable()
export class BulkAgent {
  readonly agentId = 'bulk-agent';
  readonly agentType = 'batch';

  constructor(private readonly model: ChatModel) {}

  @TrackAgent()
  async execute(calls: number): Promise<void> {
    for (let i = 0; i < calls; i++)
      await this.model.complete({ model: 'gpt-4o-mini', promptTokens: 100 });
  }
}

/** A workflow running the research agent. */
@Injectable()
export class ReportWorkflow {
  constructor(private readonly agent: ResearchAgent) {}

  @TrackWorkflow({ workflowId: 'daily-report' })
  async run(input: { runId: string }): Promise<{ status: 'completed' }> {
    await this.agent.execute(`report ${input.runId}`);
    return { status: 'completed' };
  }
}

/** HTTP entry points of the test app. */
@Controller('work')
export class WorkController {
  constructor(private readonly model: ChatModel) {}

  @Get('chat')
  async chat(): Promise<{ ok: boolean }> {
    await this.model.complete({ model: 'gpt-4o-mini', promptTokens: 10, completionTokens: 5 });
    return { ok: true };
  }

  /** One LLM call after 300 ms of other work: a request still in flight when shutdown begins. */
  @Get('slow')
  async slow(): Promise<{ ok: boolean }> {
    await new Promise((r) => setTimeout(r, 300));
    await this.model.complete({ model: 'gpt-4o-mini', promptTokens: 10, completionTokens: 5 });
    return { ok: true };
  }

  @Get('fail')
  async fail(@Headers('x-model') model?: string): Promise<{ ok: boolean }> {
    await this.model
      .complete({ model: model ?? 'mystery-model', promptTokens: 10, fail: true })
      .catch(() => undefined);
    return { ok: false };
  }
}

/**
 * A real Nest app importing `MonitoringModule.forRoot(options)` with the decorated classes above.
 * Identity headers `x-user-id` / `x-tenant-id` feed the principal extractor.
 */
export async function createAnalyticsApp(
  options: MonitoringModuleOptions,
  httpAdapter?: AbstractHttpAdapter,
): Promise<INestApplication> {
  @Module({
    imports: [
      MonitoringModule.forRoot({
        defaultMetricsEnabled: false,
        principalExtractor: (request) => ({
          userId: header(request.headers['x-user-id']),
          tenantId: header(request.headers['x-tenant-id']),
        }),
        // A spool of its own unless the test shares one on purpose (see spool-dir.setup.js).
        analyticsSpoolDir: mkdtempSync(join(tmpdir(), 'mon-spool-app-')),
        ...options,
      }),
    ],
    controllers: [WorkController],
    providers: [ChatModel, ResearchAgent, BulkAgent, ReportWorkflow],
  })
  class AnalyticsTestAppModule {}

  const app = httpAdapter
    ? await NestFactory.create(AnalyticsTestAppModule, httpAdapter, { logger: ['error', 'warn'] })
    : await NestFactory.create(AnalyticsTestAppModule, { logger: ['error', 'warn'] });
  await app.init();
  return app;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}
