/**
 * Uses the public API the way an app's own code does. The consumer check compiles it with
 * `--strict --skipLibCheck false` under moduleResolution nodenext, node16 and bundler, against the
 * packed tarball's declarations.
 */
import { Injectable, type INestApplication } from '@nestjs/common';
import {
  AnalyticsQueryService,
  EventFanOut,
  MonitoringContext,
  MonitoringModule,
  MonitoringOptionsError,
  SwaggerMissingError,
  TrackAgent,
  TrackLLM,
  TrackTool,
  TrackWorkflow,
  readUsage,
  resolveMonitoringOptions,
  setupAnalyticsOpenApi,
  setupMonitoring,
  type AnalyticsOpenApiDocument,
  type LlmCallEvent,
  type MonitoringEvent,
  type MonitoringModuleOptions,
  type MonitoringSink,
  type TokenUsage,
} from 'nestjs-ai-monitoring';

export const options: MonitoringModuleOptions = {
  appName: 'consumer',
  analyticsApiToken: 'a-token-of-sixteen-chars',
  pricing: { 'my-model': { input: 0.1, output: 0.2 } },
  principalExtractor: (req) => ({
    tenantId:
      typeof req.headers['x-tenant-id'] === 'string' ? req.headers['x-tenant-id'] : undefined,
  }),
};
export const asyncModule = MonitoringModule.forRootAsync({ useFactory: () => options });

@Injectable()
export class Assistant {
  readonly agentId = 'assistant';

  @TrackLLM({ provider: 'custom', model: 'my-model' })
  complete(prompt: string): {
    text: string;
    usage: { prompt_tokens: number; completion_tokens: number };
  } {
    return { text: prompt, usage: { prompt_tokens: 1, completion_tokens: 1 } };
  }

  @TrackTool()
  lookup(name: string, input: unknown): unknown {
    return { name, input };
  }

  @TrackAgent()
  async run(question: string): Promise<string> {
    return this.complete(question).text;
  }

  @TrackWorkflow()
  async flow(definition: { id: string }, input: string): Promise<string> {
    return this.run(`${definition.id}:${input}`);
  }
}

/** Attributes the LLM calls made inside to a tenant, as an app does for background jobs. */
export function forTenant(tenantId: string): void {
  MonitoringContext.setPrincipal({ tenantId });
}

export class CountingSink implements MonitoringSink {
  readonly name = 'counting';
  llmTokens = 0;
  record(event: MonitoringEvent): void {
    if (event.kind === 'llm_call') this.llmTokens += tokens(event);
  }
}

function tokens(event: LlmCallEvent): number {
  const usage: TokenUsage | undefined = event.usage ?? undefined;
  return usage ? usage.inputTokens + usage.outputTokens : 0;
}

export function wire(app: INestApplication): AnalyticsOpenApiDocument | undefined {
  app.get(EventFanOut).addSink(new CountingSink());
  void app.get(AnalyticsQueryService);
  const usage = readUsage({ usage: { prompt_tokens: 2, completion_tokens: 3 } });
  void usage;
  try {
    resolveMonitoringOptions({ analyticsBatchSize: 0 });
  } catch (error) {
    if (error instanceof MonitoringOptionsError) console.error(error.field, error.variable);
  }
  try {
    return setupAnalyticsOpenApi(app, { title: 'Reports' });
  } catch (error) {
    if (error instanceof SwaggerMissingError)
      return setupMonitoring(app, { openApi: false }).openApiDocument;
    throw error;
  }
}
