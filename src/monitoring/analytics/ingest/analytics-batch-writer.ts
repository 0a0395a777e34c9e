import type { PoolClient, QueryConfig } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AnalyticsDatabase } from '../database/analytics-database';
import {
  copyFromSql,
  encodeCopyBinary,
  encodeCopyText,
  type CopyFormat,
} from './analytics-copy.encoder';
import {
  batchInsertSql,
  columnArrays,
  type AnalyticsRow,
  type AnalyticsTable,
} from './analytics-tables';

/** What PostgreSQL confirmed for one batch. */
export interface BatchWriteResult {
  /** Rows stored by this call, as counted by PostgreSQL (the COPY or INSERT command tag). */
  inserted: number;
  /**
   * Rows of the batch that were stored before (same id): a retry of a batch whose commit happened
   * but was never acknowledged. They are skipped, not stored twice.
   */
  alreadyStored: number;
}

/** Writes one batch of rows to a raw table, exactly once per row id. */
export interface AnalyticsBatchWriter {
  /**
   * Stores the rows in one statement and resolves with what PostgreSQL confirmed. Rejects when
   * nothing was stored; an error with a SQLSTATE of class 22/23 means the data was refused (see
   * `isRejectedRowsError`), any other error may be retried with the same rows.
   */
  write(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Promise<BatchWriteResult>;
}

/** Client-side limit of one batch write: a hung connection must not hold the only flush forever. */
export const INSERT_TIMEOUT_MS = 30_000;

/**
 * How batches reach PostgreSQL:
 * - `copy`: `COPY ... FROM STDIN` in binary format straight into the table; a batch some of
 *   whose ids are already stored is written again with `insert` (see `PgBatchWriter`).
 * - `insert`: `INSERT ... SELECT FROM unnest($1::uuid[], ...) ON CONFLICT DO NOTHING`.
 */
export type BatchWriteMethod = 'copy' | 'insert';

/** Settings of `PgBatchWriter`. */
export interface PgBatchWriterSettings {
  /** Default: `copy` on a PostgreSQL server, `insert` on the embedded PGlite (no COPY FROM STDIN). */
  method?: BatchWriteMethod;
  /** Data format of `copy` (default `binary`: least CPU on both sides, see docs/benchmarks.md). */
  copyFormat?: CopyFormat;
  /** Client-side limit of one write (default `INSERT_TIMEOUT_MS`). */
  timeoutMs?: number;
}

/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * Writes batches through the analytics pool.
 *
 * On a PostgreSQL server a batch is sent with `COPY ... FROM STDIN (FORMAT binary)`: PostgreSQL
 * parses no SQL per batch and no text per value: 43–54 % less of its CPU per stored row than
 * `INSERT ... SELECT FROM unnest(...)`, and 1.5–1.8 times the rows per second (figures in
 * docs/benchmarks.md). COPY has no `ON CONFLICT`, so exactly-once rests on the
 * primary key: rows carry their ids from the mapper, and a COPY that meets an id already stored
 * fails as a whole (unique violation, nothing of it is kept). That happens only to a batch retried
 * after an ambiguous failure (the commit happened, the acknowledgement was lost) or one overlapping
 * it; such a batch is written again with `INSERT ... ON CONFLICT DO NOTHING`, which stores the
 * missing rows and reports the others as `alreadyStored`. A ledger of batch ids would not be
 * enough: a retried batch need not hold the same rows (it can have grown, or been split), while
 * the primary key catches every repeated row whatever batch carries it.
 *
 * The embedded PGlite cannot take `COPY FROM STDIN` over its socket (it ends the session with
 * "protocol synchronization was lost"), so it always uses `insert`.
 */
export class PgBatchWriter implements AnalyticsBatchWriter {
  private readonly method: BatchWriteMethod;
  private readonly copyFormat: CopyFormat;
  private readonly timeoutMs: number;

  constructor(
    private readonly database: AnalyticsDatabase,
    settings: PgBatchWriterSettings = {},
  ) {
    this.method = database.embeddedMode ? 'insert' : (settings.method ?? 'copy');
    this.copyFormat = settings.copyFormat ?? 'binary';
    this.timeoutMs = settings.timeoutMs ?? INSERT_TIMEOUT_MS;
  }

  async write(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Promise<BatchWriteResult> {
    if (rows.length === 0) return { inserted: 0, alreadyStored: 0 };
    // Encoded before a connection is taken: a value that cannot be encoded fails the batch
    // (as a rejected row) without touching the database.
    const payload =
      this.method === 'copy'
        ? this.copyFormat === 'binary'
          ? encodeCopyBinary(table, rows)
          : encodeCopyText(table, rows)
        : undefined;
    const client: PoolClient = await this.database.connect();
    let broken: Error | undefined;
    // pg emits a connection failure as an 'error' event as well as rejecting the query; while the
    // client is checked out the pool does not listen, and an unheard 'error' would crash the app.
    const onConnectionError = (error: Error) => {
      broken = error;
    };
    client.on('error', onConnectionError);
    try {
      if (payload) {
        try {
          const inserted = await this.copy(client, table, payload);
          return { inserted, alreadyStored: 0 };
        } catch (error) {
          if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
        }
      }
      const inserted = await this.insertOnConflict(client, table, rows);
      return { inserted, alreadyStored: rows.length - inserted };
    } catch (error) {
      // A server-reported error (it has a SQLSTATE) leaves the connection usable; anything else
      // (reset, timeout) may leave it half-way through a message: discard it.
      if (!isSqlStateError(error))
        broken ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(broken);
    }
  }

  private async insertOnConflict(
    client: PoolClient,
    table: AnalyticsTable,
    rows: readonly AnalyticsRow[],
  ): Promise<number> {
    // `query_timeout` is honoured per query by pg's Client, though missing from its typings.
    const query: QueryConfig & { query_timeout: number } = {
      text: batchInsertSql(table),
      values: columnArrays(table, rows),
      query_timeout: this.timeoutMs,
    };
    const result = await client.query(query);
    return result.rowCount ?? 0;
  }

  /** Runs one `COPY ... FROM STDIN` with the whole payload; resolves with PostgreSQL's row count. */
  private copy(client: PoolClient, table: AnalyticsTable, payload: Buffer): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const stream = client.query(copyFrom(copyFromSql(table, this.copyFormat)));
      const timer = setTimeout(() => {
        // The connection is mid-COPY: the caller discards it, which makes the server abort the
        // COPY unless it had already committed (the ambiguous case the retry path covers).
        reject(new Error(`COPY into ${table} timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      // 'finish' comes after ReadyForQuery, i.e. once the rows are committed and visible.
      stream.once('finish', () => {
        clearTimeout(timer);
        resolve(stream.rowCount);
      });
      stream.on('error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
      stream.end(payload);
    });
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
