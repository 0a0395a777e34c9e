/** The raw analytics tables the write-behind ingest appends to. */
export type AnalyticsTable = 'llm_usage' | 'agent_executions' | 'workflow_analytics';

/** Every raw table, in flush order. */
export const ANALYTICS_TABLES: readonly AnalyticsTable[] = ['llm_usage', 'agent_executions', 'workflow_analytics'];

/** A column written by the ingest and the PostgreSQL array type its values are sent as. */
interface ColumnSpec {
  readonly name: string;
  readonly type: 'uuid' | 'timestamptz' | 'text' | 'int4' | 'bool' | 'numeric' | 'jsonb';
}

/**
 * Columns of each raw table in the order of the value tuples built by `analytics-row.mapper.ts`.
 * A row is a tuple (not an object) to keep a full queue small in memory.
 */
export const TABLE_COLUMNS: Readonly<Record<AnalyticsTable, readonly ColumnSpec[]>> = {
  llm_usage: [
    { name: 'id', type: 'uuid' },
    { name: 'timestamp', type: 'timestamptz' },
    { name: 'request_id', type: 'text' },
    { name: 'agent_id', type: 'text' },
    { name: 'workflow_id', type: 'text' },
    { name: 'workflow_run_id', type: 'text' },
    { name: 'provider', type: 'text' },
    { name: 'model', type: 'text' },
    { name: 'prompt_tokens', type: 'int4' },
    { name: 'completion_tokens', type: 'int4' },
    { name: 'cached_tokens', type: 'int4' },
    { name: 'cache_write_tokens', type: 'int4' },
    { name: 'reasoning_tokens', type: 'int4' },
    { name: 'cost_cents', type: 'numeric' },
    { name: 'latency_ms', type: 'int4' },
    { name: 'time_to_first_chunk_ms', type: 'int4' },
    { name: 'success', type: 'bool' },
    { name: 'error_type', type: 'text' },
    { name: 'streamed', type: 'bool' },
    { name: 'user_id', type: 'text' },
    { name: 'tenant_id', type: 'text' },
    { name: 'session_id', type: 'text' },
    { name: 'attributes', type: 'jsonb' },
  ],
  agent_executions: [
    { name: 'id', type: 'uuid' },
    { name: 'timestamp', type: 'timestamptz' },
    { name: 'agent_id', type: 'text' },
    { name: 'agent_type', type: 'text' },
    { name: 'success', type: 'bool' },
    { name: 'latency_ms', type: 'int4' },
    { name: 'llm_calls_count', type: 'int4' },
    { name: 'tool_calls_count', type: 'int4' },
    { name: 'tokens_used', type: 'int4' },
    { name: 'cost_cents', type: 'numeric' },
    { name: 'request_id', type: 'text' },
    { name: 'workflow_id', type: 'text' },
    { name: 'workflow_run_id', type: 'text' },
    { name: 'error_type', type: 'text' },
    { name: 'user_id', type: 'text' },
    { name: 'tenant_id', type: 'text' },
    { name: 'attributes', type: 'jsonb' },
  ],
  workflow_analytics: [
    { name: 'id', type: 'uuid' },
    { name: 'workflow_id', type: 'text' },
    { name: 'run_id', type: 'text' },
    { name: 'status', type: 'text' },
    { name: 'duration_ms', type: 'int4' },
    { name: 'steps_executed', type: 'int4' },
    { name: 'steps_failed', type: 'int4' },
    { name: 'started_at', type: 'timestamptz' },
    { name: 'finished_at', type: 'timestamptz' },
    { name: 'llm_calls_count', type: 'int4' },
    { name: 'tokens_used', type: 'int4' },
    { name: 'cost_cents', type: 'numeric' },
    { name: 'request_id', type: 'text' },
    { name: 'error_type', type: 'text' },
    { name: 'user_id', type: 'text' },
    { name: 'tenant_id', type: 'text' },
    { name: 'attributes', type: 'jsonb' },
  ],
};

/** One row of a raw table: values in `TABLE_COLUMNS` order. */
export type AnalyticsRow = readonly unknown[];

const insertSql = new Map<AnalyticsTable, string>();

/**
 * The batch INSERT of a table: one array parameter per column, expanded with `unnest`, so a batch
 * of any size binds as many parameters as the table has columns (far below PostgreSQL's 65,535
 * limit) and PostgreSQL parses one short statement. `ON CONFLICT (id) DO NOTHING` makes a retried
 * batch idempotent when the first attempt committed but its acknowledgement was lost.
 */
export function batchInsertSql(table: AnalyticsTable): string {
  let sql = insertSql.get(table);
  if (!sql) {
    const columns = TABLE_COLUMNS[table];
    const names = columns.map((c) => `"${c.name}"`).join(', ');
    const arrays = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    sql = `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT ("id") DO NOTHING`;
    insertSql.set(table, sql);
  }
  return sql;
}

/** Turns row tuples into one array per column, the parameters of `batchInsertSql`. */
export function columnArrays(table: AnalyticsTable, rows: readonly AnalyticsRow[]): unknown[][] {
  const width = TABLE_COLUMNS[table].length;
  const arrays: unknown[][] = [];
  for (let c = 0; c < width; c++) arrays.push(new Array<unknown>(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let c = 0; c < width; c++) arrays[c]![r] = row[c];
  }
  return arrays;
}
