import { Logger } from '@nestjs/common';
import { Client, type Pool, type PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import {
  createAnalyticsDataSource,
  type AnalyticsConnectionTarget,
} from './analytics-data-source.factory';
import { EmbeddedPostgres } from './embedded-postgres';

/** Advisory lock held while migrations run, so replicas starting together migrate once. */
const MIGRATION_LOCK_KEY = '7885080646913025394';

/** How the analytics database is reached. */
export interface AnalyticsDatabaseSettings {
  /** PostgreSQL URL; undefined = embedded PGlite in `embeddedDatabaseDir`. */
  databaseUrl?: string;
  /** Data directory of the embedded database, or `':memory:'`. */
  embeddedDatabaseDir: string;
  /** Apply pending migrations when connecting. */
  runMigrations: boolean;
  /** Connections of the pool to a real server (the embedded database always uses one). */
  poolSize: number;
}

/** Connection counts of the pool, for the `db_pool_connections` gauge. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * Owns the analytics connection: the embedded database when no URL is configured, the TypeORM
 * `DataSource` (named `monitoring`, apart from the host app's own connection), and migrations.
 * It is owned directly rather than through `TypeOrmModule` because the module must start even when
 * the database is down (events wait in the write queue while `openWithRetry` keeps trying), and
 * the queue must drain before the pool closes; both need control `TypeOrmModule` does not give.
 */
export class AnalyticsDatabase {
  private readonly logger = new Logger('MonitoringAnalytics');
  private embedded?: EmbeddedPostgres;
  private source?: DataSource;
  private opening?: Promise<void>;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private wakeRetry?: () => void;
  private readonly readyWaiters: Array<{
    resolve(ds: DataSource): void;
    reject(error: Error): void;
  }> = [];

  constructor(readonly settings: AnalyticsDatabaseSettings) {}

  /** True when using the embedded PGlite database. */
  get embeddedMode(): boolean {
    return this.settings.databaseUrl === undefined;
  }

  /** The connected, migrated `DataSource`, or undefined while not (yet) connected. */
  get dataSource(): DataSource | undefined {
    return this.source?.isInitialized ? this.source : undefined;
  }

  /**
   * The `pg` pool under the `DataSource` (ingest and aggregation use it directly).
   * @internal Kept out of the published types so they do not need `@types/pg`.
   */
  get pool(): Pool | undefined {
    const source = this.dataSource;
    return source ? ((source.driver as PostgresDriver).master as Pool) : undefined;
  }

  /** Where the data lives, without credentials (for logs). */
  get description(): string {
    if (this.embeddedMode) return `embedded PGlite (${this.settings.embeddedDatabaseDir})`;
    return describeUrl(this.settings.databaseUrl!);
  }

  /** Resolves with the `DataSource` once connected and migrated; rejects if closed first. */
  whenReady(): Promise<DataSource> {
    const source = this.dataSource;
    if (source) return Promise.resolve(source);
    if (this.closed) return Promise.reject(new Error('analytics database is closed'));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Counts of the pool's connections (zeros while not connected). */
  poolStats(): PoolStats {
    const pool = this.pool;
    if (!pool) return { total: 0, idle: 0, waiting: 0 };
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }

  /**
   * Takes a connection from the pool (throws when not connected).
   * @internal Kept out of the published types so they do not need `@types/pg`.
   */
  async connect(): Promise<PoolClient> {
    const pool = this.pool;
    if (!pool) throw new Error('analytics database is not connected');
    return pool.connect();
  }

  /** One attempt to connect (starting the embedded database if needed) and migrate. */
  open(): Promise<void> {
    if (this.dataSource) return Promise.resolve();
    this.opening ??= this.openOnce().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /**
   * Connects, retrying with backoff (1 s doubling up to 30 s) until connected or closed. Logs the
   * first failure and the recovery, not every attempt.
   */
  async openWithRetry(): Promise<void> {
    let delay = 1_000;
    let failures = 0;
    while (!this.closed && !this.dataSource) {
      try {
        await this.open();
        if (failures > 0)
          this.logger.log(
            `analytics database ${this.description} connected after ${failures} failed attempts`,
          );
        return;
      } catch (error) {
        failures++;
        if (failures === 1) {
          this.logger.warn(
            `analytics database ${this.description} unavailable (${errorMessage(error)}); ` +
              'events are queued and the connection is retried',
          );
        }
        await new Promise<void>((resolve) => {
          this.wakeRetry = resolve;
          this.retryTimer = setTimeout(resolve, delay);
          this.retryTimer.unref();
        });
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /** Closes the pool, then the embedded database. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    await this.opening?.catch(() => undefined);
    for (const waiter of this.readyWaiters.splice(0))
      waiter.reject(new Error('analytics database is closed'));
    const source = this.source;
    this.source = undefined;
    try {
      if (source?.isInitialized) await source.destroy();
    } finally {
      const embedded = this.embedded;
      this.embedded = undefined;
      await embedded?.stop();
    }
  }

  private async openOnce(): Promise<void> {
    if (this.closed) throw new Error('analytics database is closed');
    let target: AnalyticsConnectionTarget;
    if (this.settings.databaseUrl !== undefined) {
      target = { url: this.settings.databaseUrl };
    } else {
      if (!this.embedded) {
        const embedded = new EmbeddedPostgres(this.settings.embeddedDatabaseDir);
        await embedded.start();
        this.embedded = embedded;
      }
      target = this.embedded.connection;
    }
    const source = createAnalyticsDataSource(
      target,
      this.embeddedMode ? 1 : this.settings.poolSize,
    );
    try {
      await source.initialize();
      if (this.settings.runMigrations) {
        await this.migrate(source);
      } else if (await source.showMigrations()) {
        this.logger.warn(
          'analytics migrations are pending and analyticsRunMigrations is off: run `npm run migration:run`',
        );
      }
    } catch (error) {
      if (source.isInitialized) await source.destroy().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await source.destroy();
      throw new Error('analytics database is closed');
    }
    this.source = source;
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(source);
  }

  private async migrate(source: DataSource): Promise<void> {
    if (this.settings.databaseUrl === undefined) {
      // The embedded database has one connection and one process (its lock file): nothing to race.
      await source.runMigrations({ transaction: 'each' });
      return;
    }
    // A session lock on a connection of its own, outside the pool the migrations run on.
    const lock = new Client({
      connectionString: this.settings.databaseUrl,
      connectionTimeoutMillis: 5_000,
    });
    await lock.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const applied = await source.runMigrations({ transaction: 'each' });
      if (applied.length > 0)
        this.logger.log(`applied analytics migrations: ${applied.map((m) => m.name).join(', ')}`);
    } finally {
      await lock
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch(() => undefined);
      await lock.end().catch(() => undefined);
    }
  }
}

/** `postgres://user:secret@db:5432/app` → `postgres://db:5432/app` (never log credentials). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'PostgreSQL (unparsable URL)';
  }
}

/** The message of an error, with any PostgreSQL URL's credentials removed. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, '$1***@');
}
