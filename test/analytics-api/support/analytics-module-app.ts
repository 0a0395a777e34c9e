import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { DataSource } from 'typeorm';
import { MonitoringModule, type MonitoringModuleOptions } from '../../../src/monitoring';
import { HourlyAggregator } from '../../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsDatabase } from '../../../src/monitoring/analytics/database/analytics-database';
import { createHttpAdapter, waitUntilReady, type HttpAdapterName } from '../../support/http-adapters';
import { provisionDatabase, type DatabaseKind, type ProvisionedDatabase } from '../../support/analytics-databases';

/** The real module on a real database: its connection, migrations, aggregator and analytics API. */
export interface ModuleApp {
  app: INestApplication;
  /** The module's own analytics connection (to seed raw rows). */
  source: DataSource;
  aggregator: HourlyAggregator;
  close(): Promise<void>;
}

/**
 * Starts `MonitoringModule.forRoot` on a fresh database of `kind` (embedded PGlite or a real
 * PostgreSQL), waits until it is connected and migrated and its first aggregator run is done.
 */
export async function startModuleApp(
  kind: DatabaseKind,
  options: MonitoringModuleOptions = {},
  configure?: (app: INestApplication) => void,
  adapter: HttpAdapterName = 'express',
): Promise<ModuleApp> {
  const db: ProvisionedDatabase = await provisionDatabase(kind);
  let app: INestApplication | undefined;
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MonitoringModule.forRoot({
          defaultMetricsEnabled: false,
          databaseUrl: db.databaseUrl,
          embeddedDatabaseDir: db.embeddedDatabaseDir,
          ...options,
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false });
    configure?.(app);
    await app.init();
    await waitUntilReady(app);
    const source = await app.get(AnalyticsDatabase).whenReady();
    const aggregator = app.get(HourlyAggregator);
    await aggregator.run();
    const started = app;
    return {
      app: started,
      source,
      aggregator,
      close: async () => {
        await started.close();
        await db.cleanup();
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await db.cleanup();
    throw error;
  }
}

/**
 * Makes the aggregator roll up every closed hour again from the oldest raw row, as on its first
 * run (rows seeded straight into the raw tables predate its saved progress).
 */
export async function reaggregateAll(m: ModuleApp): Promise<void> {
  await m.source.query(`DELETE FROM "analytics_aggregation_state"`);
  const result = await m.aggregator.run();
  if (result.status !== 'completed') throw new Error(`aggregation ${result.status}: ${result.error?.message ?? ''}`);
}
