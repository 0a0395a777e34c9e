import 'reflect-metadata';
import {
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  NotFoundException,
  Param,
  Post,
  Query,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  MonitoringModule,
  TrackAgent,
  TrackLLM,
  TrackTool,
  TrackWorkflow,
} from '../../../src/monitoring';

/**
 * A small agent monolith instrumented the way the design prescribes: decorators on the LLM provider
 * base, the agent base, the tool runner and the workflow executor, traffic only through HTTP.
 */

interface CompletionRequest {
  model: string;
  fail?: boolean;
  latencyMs: number;
}

class LlmProviderBase {
  constructor(readonly provider: string) {}

  @TrackLLM()
  async complete(req: CompletionRequest): Promise<unknown> {
    await sleep(req.latencyMs);
    if (req.fail) throw Object.assign(new Error('upstream overloaded'), { name: 'RateLimitError' });
    return this.response(req.model);
  }

  protected response(model: string): unknown {
    return { model, usage: { prompt_tokens: 1200, completion_tokens: 300 } };
  }
}

class OpenAiProvider extends LlmProviderBase {
  constructor() {
    super('openai');
  }
}

class AnthropicProvider extends LlmProviderBase {
  constructor() {
    super('anthropic');
  }

  protected override response(model: string): unknown {
    return {
      model,
      type: 'message',
      usage: { input_tokens: 900, output_tokens: 450, cache_read_input_tokens: 100 },
    };
  }
}

@Injectable()
class ToolRunner {
  @TrackTool()
  async invoke(toolName: string, fail = false): Promise<string> {
    await sleep(2);
    if (fail) throw new Error(`${toolName} unavailable`);
    return `${toolName}: ok`;
  }
}

/** An agent definition: id, type, the provider and model it calls, and its tool. */
interface AgentSpec {
  agentId: string;
  agentType: string;
  provider: LlmProviderBase;
  model: string;
  tool: string;
  latencyMs: number;
}

class Agent {
  constructor(
    readonly config: { id: string; type: string },
    private readonly spec: AgentSpec,
    private readonly tools: ToolRunner,
  ) {}

  @TrackAgent()
  async execute(input: { fail?: boolean; toolFails?: boolean }): Promise<string> {
    try {
      await this.tools.invoke(this.spec.tool, input.toolFails);
    } catch {
      // A failing tool degrades the answer; the agent still answers.
    }
    await this.spec.provider.complete({
      model: this.spec.model,
      fail: input.fail,
      latencyMs: this.spec.latencyMs,
    });
    return `${this.config.id} done`;
  }
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

@Injectable()
class WorkflowExecutor {
  @TrackWorkflow()
  async run(definition: {
    workflowId: string;
    steps: Agent[];
    outcome: string;
  }): Promise<{ status: string }> {
    for (const step of definition.steps)
      await step.execute({ fail: definition.outcome === 'failed' });
    if (definition.outcome === 'timeout') throw new TimeoutError('workflow deadline exceeded');
    return { status: 'completed' };
  }
}

@Injectable()
class AgentRegistry {
  readonly agents: Map<string, Agent>;

  constructor(readonly tools: ToolRunner) {
    const openai = new OpenAiProvider();
    const anthropic = new AnthropicProvider();
    const acme = new LlmProviderBase('acme');
    const specs: AgentSpec[] = [
      {
        agentId: 'kpi-calculator',
        agentType: 'llm',
        provider: openai,
        model: 'gpt-4o',
        tool: 'sql-query',
        latencyMs: 15,
      },
      {
        agentId: 'summariser',
        agentType: 'llm',
        provider: openai,
        model: 'gpt-4o-mini',
        tool: 'sql-query',
        latencyMs: 5,
      },
      {
        agentId: 'researcher',
        agentType: 'rag',
        provider: anthropic,
        model: 'claude-3-5-sonnet-20241022',
        tool: 'web-search',
        latencyMs: 30,
      },
      // A model missing from every price list: its calls count as unpriced.
      {
        agentId: 'router',
        agentType: 'router',
        provider: acme,
        model: 'acme-router-1',
        tool: 'classifier',
        latencyMs: 2,
      },
    ];
    this.agents = new Map(
      specs.map((s) => [s.agentId, new Agent({ id: s.agentId, type: s.agentType }, s, tools)]),
    );
  }

  get(id: string): Agent {
    const agent = this.agents.get(id);
    if (!agent) throw new NotFoundException(`agent ${id} not found`);
    return agent;
  }
}

@Controller()
class DemoController {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly executor: WorkflowExecutor,
  ) {}

  @Post('agents/:id/execute')
  @HttpCode(200)
  async execute(
    @Param('id') id: string,
    @Query('fail') fail?: string,
    @Query('toolFails') toolFails?: string,
  ) {
    return {
      answer: await this.registry
        .get(id)
        .execute({ fail: fail === '1', toolFails: toolFails === '1' }),
    };
  }

  @Post('workflows/:id/run')
  @HttpCode(200)
  async run(@Param('id') workflowId: string, @Query('outcome') outcome = 'completed') {
    const steps = workflowId === 'daily-report' ? ['kpi-calculator', 'summariser'] : ['researcher'];
    return this.executor.run({
      workflowId,
      outcome,
      steps: steps.map((s) => this.registry.get(s)),
    });
  }

  @Get('health')
  health() {
    return { status: 'ok' };
  }
}

@Module({
  imports: [
    // Loki and PostgreSQL analytics are off: this app is scraped by Prometheus only.
    MonitoringModule.forRoot({ appName: 'magure-ai', lokiEnabled: false, analyticsEnabled: false }),
  ],
  controllers: [DemoController],
  providers: [ToolRunner, WorkflowExecutor, AgentRegistry],
})
class OpsDemoModule {}

/** Starts the demo app on a free port of 127.0.0.1. */
export async function startOpsDemoApp(): Promise<{ app: INestApplication; port: number }> {
  const app = await NestFactory.create(OpsDemoModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, port: address.port };
}

/** What one round of traffic does, so the test can check Prometheus saw exactly that. */
export const ROUND = {
  /** Agent executions: 6 direct, then 2 + 1 (the failed run stops at its first agent) + 1 + 1 in workflows. */
  agentExecutions: 6 + 2 + 1 + 1 + 1,
  workflowRuns: 4,
  httpRequests: 6 + 4 + 2,
};

/**
 * One round of traffic through HTTP: successful and failing agents of every type, a failing tool,
 * workflows that complete, fail and time out, a 404 and a health check.
 */
export async function driveTraffic(app: INestApplication): Promise<void> {
  const http = app.getHttpServer();
  const expect = async (call: request.Test, status: number) => {
    const res = await call;
    if (res.status !== status)
      throw new Error(`${JSON.stringify(res.body)}: expected HTTP ${status}, got ${res.status}`);
  };
  // Direct agent calls: 6 requests.
  await expect(request(http).post('/agents/kpi-calculator/execute'), 200);
  await expect(request(http).post('/agents/kpi-calculator/execute?fail=1'), 500);
  await expect(request(http).post('/agents/summariser/execute'), 200);
  await expect(request(http).post('/agents/researcher/execute?toolFails=1'), 200);
  await expect(request(http).post('/agents/router/execute'), 200);
  await expect(request(http).post('/agents/router/execute?fail=1'), 500);
  // Workflow runs: 4 requests; daily-report runs 2 agents, research runs 1.
  await expect(request(http).post('/workflows/daily-report/run'), 200);
  await expect(request(http).post('/workflows/daily-report/run?outcome=failed'), 500);
  await expect(request(http).post('/workflows/research/run'), 200);
  await expect(request(http).post('/workflows/research/run?outcome=timeout'), 500);
  // Plain HTTP: 2 requests.
  await expect(request(http).get('/health'), 200);
  await expect(request(http).get('/no-such-route'), 404);
}
