import type { Provider, Type } from '@nestjs/common';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';
import { AnalyticsDatabase } from '../database/analytics-database';
import { createAnalyticsUiController } from '../ui/analytics-ui.controller';
import type { AnalyticsSqlRunner } from './analytics-aggregate.query';
import { ANALYTICS_SQL_RUNNER } from './analytics-api.constants';
import { AnalyticsAccessPolicy, AnalyticsApiEnabledGuard, AnalyticsAuthGuard, MetricsAuthGuard } from './analytics-auth.guard';
import { AnalyticsQueryService } from './analytics-query.service';
import { AnalyticsRunsService } from './analytics-runs.service';
import { createAnalyticsRunsController } from './analytics-runs.controller';
import { createAnalyticsController } from './analytics.controller';

/**
 * A read the analytics database cannot serve now. Its message is what the API answers (503) and
 * what the log says: true, and free of connection details.
 */
export class AnalyticsUnavailableError extends Error {
  override name = 'AnalyticsUnavailableError';
}

/** Limits of one analytics API read. */
export interface AnalyticsReadLimits {
  /** `statement_timeout` of the query; the client gives up this long plus a second later. */
  queryTimeoutMs: number;
  /** Longest wait for a connection of the pool. */
  acquireTimeoutMs: number;
}

/**
 * Reads through the module's analytics connection, bounded in time so that a database that hangs
 * (frozen, or every connection busy) gets a prompt 503 rather than a request that waits for
 * minutes: the wait for a pooled connection is limited, the query runs under a
 * `statement_timeout`, and a server that does not answer at all is given up on by the client
 * (that connection is discarded). While not (yet) connected, queries fail at once.
 */
export function analyticsDatabaseRunner(
  database: AnalyticsDatabase,
  limits: AnalyticsReadLimits = { queryTimeoutMs: 5_000, acquireTimeoutMs: 2_000 },
): AnalyticsSqlRunner {
  return {
    query: async (sql, parameters) => {
      const pool = database.pool;
      if (!pool) throw new AnalyticsUnavailableError('analytics database is not connected');
      const client = await acquire(pool, limits.acquireTimeoutMs);
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
      const clientTimeout = limits.queryTimeoutMs + 1_000;
      const run = (text: string, values?: unknown[]) =>
        client.query({ text, values, query_timeout: clientTimeout } as QueryConfig);
      try {
        await run(`SET statement_timeout = ${Math.floor(limits.queryTimeoutMs)}`);
        const result = await run(sql, parameters);
        await run('RESET statement_timeout');
        return result.rows;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === '57014') {
          throw new AnalyticsUnavailableError(
            `analytics query exceeded its ${limits.queryTimeoutMs} ms statement timeout`,
          );
        }
        if (typeof code !== 'string') {
          // No SQLSTATE: the connection failed or the server did not answer; it cannot be reused.
          broken ??= error instanceof Error ? error : new Error(String(error));
          if (/timeout/i.test(broken.message)) {
            throw new AnalyticsUnavailableError(
              `analytics database did not answer within ${clientTimeout} ms`,
            );
          }
          throw new AnalyticsUnavailableError('analytics database connection failed');
        }
        // A server-reported error leaves the connection usable, but its statement_timeout set.
        await run('RESET statement_timeout').catch((e: unknown) => {
          broken ??= e instanceof Error ? e : new Error(String(e));
        });
        throw error;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
  };
}

async function acquire(pool: Pool, timeoutMs: number): Promise<PoolClient> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const pending = pool.connect();
  try {
    return await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(
            new AnalyticsUnavailableError(`no analytics database connection became free within ${timeoutMs} ms`),
          );
        }, timeoutMs);
      }),
    ]);
  } catch (error) {
    // The connection may still arrive: hand it straight back.
    if (timedOut) pending.then((c) => c.release(), () => undefined);
    else if (!(error instanceof AnalyticsUnavailableError))
      throw new AnalyticsUnavailableError('analytics database is unreachable');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Route settings fixed when the module is built (before `forRootAsync` factories run). */
export interface AnalyticsRouteSettings {
  apiPrefix: string;
  uiPath: string;
}

/** The analytics API controllers of one module instance. */
export function createAnalyticsApiControllers(routes: AnalyticsRouteSettings): Type<unknown>[] {
  return [
    createAnalyticsController(routes.apiPrefix),
    createAnalyticsRunsController(routes.apiPrefix),
    createAnalyticsUiController(routes.uiPath, routes.apiPrefix),
  ];
}

/** Providers of the analytics API: the query service, its connection and the access guards. */
export function createAnalyticsApiProviders(): Provider[] {
  return [
    AnalyticsAccessPolicy,
    AnalyticsAuthGuard,
    MetricsAuthGuard,
    AnalyticsApiEnabledGuard,
    {
      provide: ANALYTICS_SQL_RUNNER,
      inject: [{ token: AnalyticsDatabase, optional: true }, MONITORING_OPTIONS],
      useFactory: (database: AnalyticsDatabase | null | undefined, options: MonitoringOptions): AnalyticsSqlRunner | null =>
        database
          ? analyticsDatabaseRunner(database, {
              queryTimeoutMs: options.analyticsQueryTimeoutMs,
              acquireTimeoutMs: options.databaseAcquireTimeoutMs,
            })
          : null,
    },
    {
      provide: AnalyticsQueryService,
      inject: [ANALYTICS_SQL_RUNNER, MONITORING_OPTIONS],
      useFactory: (runner: AnalyticsSqlRunner | null, options: MonitoringOptions) =>
        new AnalyticsQueryService(runner, {
          cacheSize: options.analyticsQueryCacheSize,
          lookbackHours: options.analyticsAggregationLookbackHours,
        }),
    },
    {
      provide: AnalyticsRunsService,
      inject: [AnalyticsQueryService],
      useFactory: (queries: AnalyticsQueryService) => new AnalyticsRunsService(queries),
    },
  ];
}
