import type { PoolClient, QueryConfig } from 'pg';
import type { AnalyticsDatabase } from '../database/analytics-database';
import {
  batchInsertSql,
  columnArrays,
  type AnalyticsRow,
  type AnalyticsTable,
} from './analytics-tables';

/** Writes one batch of rows to a raw table. */
export interface AnalyticsBatchWriter {
  /** Inserts the rows in one statement; resolves with the number of rows inserted. Throws on failure. */
  insert(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Promise<number>;
}

/** Client-side limit of one batch INSERT: a hung connection must not hold the only flush forever. */
export const INSERT_TIMEOUT_MS = 30_000;

/** Writes batches through the analytics pool with `INSERT ... SELECT FROM unnest(...)`. */
export class PgBatchWriter implements AnalyticsBatchWriter {
  constructor(
    private readonly database: AnalyticsDatabase,
    private readonly timeoutMs = INSERT_TIMEOUT_MS,
  ) {}

  async insert(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Promise<number> {
    const client: PoolClient = await this.database.connect();
    let broken: Error | undefined;
    try {
      // `query_timeout` is honoured per query by pg's Client, though missing from its typings.
      const query: QueryConfig & { query_timeout: number } = {
        text: batchInsertSql(table),
        values: columnArrays(table, rows),
        query_timeout: this.timeoutMs,
      };
      const result = await client.query(query);
      return result.rowCount ?? 0;
    } catch (error) {
      // A server-reported error (it has a SQLSTATE) leaves the connection usable; anything else
      // (reset, timeout) may leave it half-way through a message: discard it.
      if (!isSqlStateError(error))
        broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** True for errors reported by PostgreSQL itself (they carry a five-character SQLSTATE). */
export function isSqlStateError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * True when PostgreSQL rejected the data of the statement (data exception, constraint violation,
 * row too large for an index): retrying the same rows cannot succeed, so the batch is split to
 * find and drop the offending rows instead of blocking the queue.
 */
export function isRejectedRowsError(error: unknown): boolean {
  if (!isSqlStateError(error)) return false;
  const code = (error as { code: string }).code;
  return code.startsWith('22') || code.startsWith('23') || code === '54000';
}
