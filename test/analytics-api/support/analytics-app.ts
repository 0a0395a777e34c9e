import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MonitoringModule, type MonitoringModuleOptions } from '../../../src/monitoring';
import { ANALYTICS_SQL_RUNNER } from '../../../src/monitoring/analytics/api/analytics-api.constants';
import type { AnalyticsSqlRunner } from '../../../src/monitoring/analytics/api/analytics-aggregate.query';
import { createHttpAdapter, waitUntilReady, type HttpAdapterName } from '../../support/http-adapters';

/**
 * A real Nest application with `MonitoringModule.forRoot(options)`, its analytics API reading
 * from `runner` instead of the module's own analytics connection (which stays off unless
 * `analyticsEnabled` is set): for tests of the HTTP contract that bring their own database.
 */
export async function createAnalyticsApp(
  runner: AnalyticsSqlRunner | null,
  options: MonitoringModuleOptions = {},
  configure?: (app: INestApplication) => void | Promise<void>,
  adapter: HttpAdapterName = 'express',
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [MonitoringModule.forRoot({ defaultMetricsEnabled: false, analyticsEnabled: false, ...options })],
  })
    .overrideProvider(ANALYTICS_SQL_RUNNER)
    .useValue(runner)
    .compile();
  const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false });
  await configure?.(app);
  await app.init();
  await waitUntilReady(app);
  return app;
}
