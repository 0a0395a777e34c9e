import type { AnalyticsDatabase } from '../database/analytics-database';
import type { AnalyticsTable } from './analytics-tables';

/**
 * Counts how many of `ids` are in a raw table. Used before a spool replay so that rows a previous
 * process already wrote (and counted) are not counted again in `analytics_rows_written_total`.
 */
export async function countPresentRows(
  database: AnalyticsDatabase,
  table: AnalyticsTable,
  ids: readonly string[],
  timeoutMs = 30_000,
): Promise<number> {
  const client = await database.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    const result = await client.query<{ n: number }>({
      text: `SELECT count(*)::int AS n FROM "${table}" WHERE id = ANY($1::uuid[])`,
      values: [ids],
      query_timeout: timeoutMs,
    } as never);
    return result.rows[0]?.n ?? 0;
  } catch (error) {
    broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
