import type { INestApplication } from '@nestjs/common';
import { EventFanOut } from '../../src/monitoring';
import { CapturingSink } from './event-capture';
import { createAppOn, type HttpAdapterName } from './http-adapters';

/**
 * Starts the real demo monolith in-process (no simulated traffic, deterministic providers unless
 * overridden) and attaches a capturing sink to its fan-out.
 */
export async function startDemoApp(
  env: Record<string, string> = {},
  adapter: HttpAdapterName = 'express',
): Promise<{ app: INestApplication; sink: CapturingSink }> {
  Object.assign(process.env, {
    SIMULATE_TRAFFIC: 'false',
    DEMO_LATENCY_SCALE: '0',
    DEMO_FAILURE_RATE: '0',
    ANALYTICS_ENABLED: 'false',
    ...env,
  });
  const { AppModule } = await import('../../src/demo/app.module');
  const app = await createAppOn(adapter, AppModule, { logger: false, abortOnError: false });
  const sink = new CapturingSink();
  app.get(EventFanOut).addSink(sink);
  return { app, sink };
}
