import 'reflect-metadata';
import {
  BadRequestException,
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
  LogPipeline,
  MonitoringModule,
  TrackAgent,
  TrackLLM,
  TrackTool,
  TrackWorkflow,
  type MonitoredRequest,
  type MonitoringModuleOptions,
} from '../../../src/monitoring';
import { IN_MEMORY_DATABASE } from '../../../src/monitoring/analytics/database/embedded-postgres';
import { LogCapture } from '../../logging/log-capture';

/**
 * A small agent monolith instrumented the way the design prescribes: decorators on the LLM provider
 * base, the agent base, the tool runner and the workflow executor, traffic only through HTTP.
 */

interface CompletionRequest {
  model: string;
  fail?: boolean;
  latencyMs: number;
  /** Answer without token usage (like an OpenAI stream without `include_usage`). */
  withoutUsage?: boolean;
}

class LlmProviderBase {
  constructor(readonly provider: string) {}

  @TrackLLM()
  async complete(req: CompletionRequest): Promise<unknown> {
    await sleep(req.latencyMs);
    if (req.fail) throw Object.assign(new Error('upstream overloaded'), { name: 'RateLimitError' });
    if (req.withoutUsage) return { model: req.model };
    return this.response(req.model);
  }

  protected response(model: string): unknown {
    return { model, usage: { prompt_tokens: 1200, completion_tokens: 300 } };
  }
}

/** A self-hosted model server reporting a corrupt (negative) reasoning count: corrected to 0. */
class AcmeProvider extends LlmProviderBase {
  constructor() {
    super('acme');
  }

  protected override response(model: string): unknown {
    return { model, usage: { prompt_tokens: 1200, completion_tokens: 300, completion_tokens_details: { reasoning_tokens: -1 } } };
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
  async execute(input: {
    fail?: boolean;
    toolFails?: boolean;
    latencyMs?: number;
  }): Promise<string> {
    try {
      await this.tools.invoke(this.spec.tool, input.toolFails);
    } catch {
      // A failing tool degrades the answer; the agent still answers.
    }
    await this.spec.provider.complete({
      model: this.spec.model,
      fail: input.fail,
      // The fallback after a failing tool answers without usage (usage-missing calls).
      withoutUsage: input.toolFails,
      // A slow provider answer for this one call (the Log Explorer's slow-call panels).
      latencyMs: input.latencyMs ?? this.spec.latencyMs,
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
    const acme = new AcmeProvider();
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
    @Query('slowMs') slowMs?: string,
  ) {
    const latencyMs = slowMs === undefined ? undefined : Number(slowMs);
    if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && latencyMs >= 0))
      throw new BadRequestException('slowMs must be a non-negative integer');
    return {
      answer: await this.registry
        .get(id)
        .execute({ fail: fail === '1', toolFails: toolFails === '1', latencyMs }),
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

/** Tenant ids this app accepts; anything else makes the principal extractor throw. */
const TENANT_ID = /^[a-z0-9-]{1,64}$/;

/**
 * Reads the tenant and user from headers, as a real app reads them from its auth token. A
 * malformed tenant id throws: the module isolates the failure (the request is served) and counts
 * it in `magure_monitoring_errors_total{source="principalExtractor"}`.
 */
function principalFromHeaders(req: MonitoredRequest): { tenantId?: string; userId?: string } {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const tenantId = header('x-tenant-id');
  if (tenantId !== undefined && !TENANT_ID.test(tenantId))
    throw new Error(`malformed tenant id ${JSON.stringify(tenantId)}`);
  return { tenantId, userId: header('x-user-id') };
}

/** Where the app sends its analytics rows and logs. */
export interface OpsDemoAppSettings {
  /** Base URL of the Loki push API the app ships its logs to. */
  lokiUrl: string;
  /** PostgreSQL URL of the analytics database; the embedded in-memory PGlite when undefined. */
  databaseUrl?: string;
  /** Any other module option (e.g. a smaller flush interval). */
  options?: MonitoringModuleOptions;
}

/** A started demo app, with every log line it wrote (what stdout would have shown). */
export interface OpsDemoApp {
  app: INestApplication;
  port: number;
  logs: LogCapture;
  /** Counters of the Loki transport (lines sent, dropped, retried, buffered). */
  lokiStats(): { sent: number; buffered: number };
}

/**
 * Starts the demo app on a free port of 127.0.0.1 with every sink of the module on: Prometheus
 * metrics, JSON logs shipped to Loki, and analytics rows written to PostgreSQL (the hourly
 * aggregator included), so that every metric family the dashboards read is exported.
 */
export async function startOpsDemoApp(settings: OpsDemoAppSettings): Promise<OpsDemoApp> {
  const logs = new LogCapture();
  @Module({
    imports: [
      MonitoringModule.forRoot({
        appName: 'magure-ai',
        environment: 'test',
        logDestination: logs,
        lokiEnabled: true,
        lokiUrl: settings.lokiUrl,
        lokiBatchIntervalMs: 50,
        analyticsEnabled: true,
        ...(settings.databaseUrl !== undefined
          ? { databaseUrl: settings.databaseUrl }
          : { embeddedDatabaseDir: IN_MEMORY_DATABASE }),
        analyticsFlushIntervalMs: 100,
        principalExtractor: principalFromHeaders,
        ...settings.options,
      }),
    ],
    controllers: [DemoController],
    providers: [ToolRunner, WorkflowExecutor, AgentRegistry],
  })
  class OpsDemoModule {}

  const app = await NestFactory.create(OpsDemoModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const pipeline = app.get(LogPipeline);
  return {
    app,
    port: address.port,
    logs,
    lokiStats: () => {
      const stats = pipeline.loki?.stats;
      if (!stats) throw new Error('Loki shipping is off');
      return { sent: stats.sent, buffered: stats.buffered };
    },
  };
}

/** What one round of traffic does, so the tests can check Prometheus and Loki saw exactly that. */
export const ROUND = {
  /** Agent executions: 6 direct, then 2 + 1 (the failed run stops at its first agent) + 1 + 1 in workflows. */
  agentExecutions: 6 + 2 + 1 + 1 + 1,
  /** One LLM call per agent execution. */
  llmCalls: 6 + 2 + 1 + 1 + 1,
  workflowRuns: 4,
  /** One tool call per agent execution (before its LLM call). */
  toolCalls: 6 + 2 + 1 + 1 + 1,
  httpRequests: 6 + 4 + 3,
  /** Requests whose tenant header the principal extractor rejects. */
  monitoringErrors: 1,
};

/** Tenants the traffic carries (the rest of the requests have none). */
export const TENANTS = ['acme-corp', 'globex'];

/**
 * One round of traffic through HTTP: successful and failing agents of every type, a failing tool,
 * workflows that complete, fail and time out, requests of two tenants, a malformed tenant header,
 * a 404 and a health check.
 */
export async function driveTraffic(app: INestApplication): Promise<void> {
  const http = app.getHttpServer();
  const expect = async (call: request.Test, status: number) => {
    const res = await call;
    if (res.status !== status)
      throw new Error(`${JSON.stringify(res.body)}: expected HTTP ${status}, got ${res.status}`);
  };
  const [acme, globex] = TENANTS as [string, string];
  // Direct agent calls: 6 requests.
  await expect(request(http).post('/agents/kpi-calculator/execute').set('x-tenant-id', acme), 200);
  await expect(request(http).post('/agents/kpi-calculator/execute?fail=1'), 500);
  await expect(request(http).post('/agents/summariser/execute').set('x-tenant-id', globex), 200);
  await expect(request(http).post('/agents/researcher/execute?toolFails=1'), 200);
  await expect(request(http).post('/agents/router/execute'), 200);
  await expect(request(http).post('/agents/router/execute?fail=1'), 500);
  // Workflow runs: 4 requests; daily-report runs 2 agents, research runs 1.
  await expect(request(http).post('/workflows/daily-report/run').set('x-tenant-id', acme), 200);
  await expect(request(http).post('/workflows/daily-report/run?outcome=failed'), 500);
  await expect(request(http).post('/workflows/research/run').set('x-tenant-id', globex), 200);
  await expect(request(http).post('/workflows/research/run?outcome=timeout'), 500);
  // Plain HTTP: 3 requests, one with a tenant header the extractor rejects (still served).
  await expect(request(http).get('/health'), 200);
  await expect(request(http).get('/health').set('x-tenant-id', 'Not A Tenant!'), 200);
  await expect(request(http).get('/no-such-route'), 404);
}
