import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MonitoringModule, TrackLLM } from '../../src/monitoring';

/** A model client shaped like the OpenAI SDK: every call is one `llm_usage` row. */
@Injectable()
class ChatModel {
  readonly provider = 'openai';

  @TrackLLM()
  async complete(n: number) {
    await Promise.resolve();
    return { model: 'gpt-4o-mini', usage: { prompt_tokens: 10 + n, completion_tokens: 5 } };
  }
}

@Controller('work')
class WorkController {
  constructor(private readonly model: ChatModel) {}

  /** `calls` LLM calls (default 1): the answer acknowledges that many rows. */
  @Get('chat')
  async chat(@Query('calls') calls?: string): Promise<{ calls: number }> {
    const n = Math.min(1000, Math.max(1, Number(calls ?? 1) || 1));
    for (let i = 0; i < n; i++) await this.model.complete(i);
    return { calls: n };
  }
}

/**
 * The application the fault runs start, stop and kill: one LLM call per `/work/chat` (or
 * `?calls=n`), the monitoring module configured from the environment like a real deployment.
 */
@Module({
  imports: [MonitoringModule.forRoot({ appName: 'faults' })],
  controllers: [WorkController],
  providers: [ChatModel],
})
class FaultAppModule {}

async function main() {
  const app = await NestFactory.create(FaultAppModule, { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`READY ${address.port}\n`);
}

void main();
