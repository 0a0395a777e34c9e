import { Injectable, Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import OpenAI from 'openai';
import request from 'supertest';
import { MonitoringModule, TrackLLM } from '../../src/monitoring';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import { describeEachDatabase, provisionDatabase, type ProvisionedDatabase } from '../support/analytics-databases';
import { LogCapture } from '../logging/log-capture';
import { waitFor } from '../support/analytics-app';
import { startProviderServer, type ProviderServer } from '../support/llm-provider-server';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';

/** An application's OpenAI provider: one tracked method for plain calls, one for streams. */
@Injectable()
class OpenAiChat {
  readonly provider = 'openai';
  client!: OpenAI;

  @TrackLLM()
  complete(params: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming) {
    return this.client.chat.completions.create(params);
  }

  @TrackLLM()
  stream(params: OpenAI.Chat.ChatCompletionCreateParamsStreaming) {
    return this.client.chat.completions.create(params);
  }
}

/** Keeps the app's log lines in memory (assertions read them; the test output stays clean). */
class MemoryLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

describeEachDatabase('usage missing is told apart from unpriced, in metrics, rows and the API', (kind) => {
  let provisioned: ProvisionedDatabase;
  let server: ProviderServer;
  let app: INestApplication;
  let chat: OpenAiChat;
  const logger = new MemoryLogger();
  const logs = new LogCapture();

  beforeAll(async () => {
    server = await startProviderServer();
    provisioned = await provisionDatabase(kind);
    @Module({
      imports: [
        MonitoringModule.forRoot({
          defaultMetricsEnabled: false,
          priceCatalogueEnabled: false,
          databaseUrl: provisioned.databaseUrl,
          embeddedDatabaseDir: provisioned.embeddedDatabaseDir,
          analyticsFlushIntervalMs: 50,
          logDestination: logs,
        }),
      ],
      providers: [OpenAiChat],
    })
    class UsageMissingAppModule {}
    app = await NestFactory.create(UsageMissingAppModule, { logger });
    await app.init();
    chat = app.get(OpenAiChat);
    chat.client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await provisioned?.cleanup();
    await server?.close();
  });

  it('a priced model streamed without include_usage, twice, and an unpriced model: each counted as what it is', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    for (let i = 0; i < 2; i++) {
      const stream = await chat.stream({ model: 'gpt-4o-mini', messages, stream: true });
      for await (const _ of stream) void _;
    }
    await chat.complete({ model: 'house-model-7b', messages });

    const metrics = parsePrometheusText((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    const pair = (model: string) => ({ provider: 'openai', model });
    expect(sampleValue(metrics, 'magure_llm_usage_missing_total', pair('gpt-4o-mini'))).toBe(2);
    expect(sampleValue(metrics, 'magure_llm_unpriced_calls_total', pair('gpt-4o-mini'))).toBeUndefined();
    expect(sampleValue(metrics, 'magure_llm_unpriced_calls_total', pair('house-model-7b'))).toBe(1);
    expect(sampleValue(metrics, 'magure_llm_usage_missing_total', pair('house-model-7b'))).toBeUndefined();
    expect(sampleValue(metrics, 'magure_llm_requests_total', { ...pair('gpt-4o-mini'), status: 'success' })).toBe(2);

    // Warned once per provider/model, naming the fix.
    const missing = logger.warnings.filter((w) => w.includes('reported no token usage'));
    expect(missing).toEqual([
      'LLM call to provider "openai" model "gpt-4o-mini" reported no token usage: its tokens and cost are unknown ' +
        '(counted in llm_usage_missing_total, not as unpriced). For OpenAI chat streams pass `stream_options: { include_usage: true }`; ' +
        'for other streams make sure the final event is consumed',
    ]);

    // The log line says so too (and carries no token fields, since they are unknown).
    const lines = logs.events('llm_call_completed');
    expect(lines.map((l) => [l.model, l.usage_missing, l.prompt_tokens, l.cost_cents])).toEqual([
      ['gpt-4o-mini', true, undefined, undefined],
      ['gpt-4o-mini', true, undefined, undefined],
      ['house-model-7b', undefined, 1200, undefined],
    ]);

    await waitFor('the write queue to empty', async () => (app.get(AnalyticsWriteQueue).depth === 0 ? true : undefined));
    const rows = await app
      .get(AnalyticsDatabase)
      .dataSource!.query(`SELECT model, usage_missing, prompt_tokens, cost_cents FROM llm_usage ORDER BY model`);
    expect(rows).toEqual([
      { model: 'gpt-4o-mini', usage_missing: true, prompt_tokens: 0, cost_cents: null },
      { model: 'gpt-4o-mini', usage_missing: true, prompt_tokens: 0, cost_cents: null },
      { model: 'house-model-7b', usage_missing: false, prompt_tokens: 1200, cost_cents: null },
    ]);

    const costs = (await request(app.getHttpServer()).get('/api/analytics/costs?hours=1').expect(200)).body;
    expect([costs.calls, costs.unpricedCalls, costs.usageMissingCalls]).toEqual([3, 1, 2]);
    const byModel = Object.fromEntries(
      costs.byModel.map((l: { model: string; unpricedCalls: number; usageMissingCalls: number }) => [
        l.model,
        [l.unpricedCalls, l.usageMissingCalls],
      ]),
    );
    expect(byModel).toEqual({ 'gpt-4o-mini': [0, 2], 'house-model-7b': [1, 0] });
    const summary = (await request(app.getHttpServer()).get('/api/analytics/summary?hours=1').expect(200)).body;
    expect([summary.llmCalls, summary.unpricedCalls, summary.usageMissingCalls]).toEqual([3, 1, 2]);
  });
});
