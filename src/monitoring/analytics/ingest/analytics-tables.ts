/** The raw analytics tables the write-behind ingest appends to. */
export type AnalyticsTable = 'llm_usage' | 'agent_executions' | 'workflow_analytics' | 'tool_calls';

/** Every raw table, in flush order. */
export const ANALYTICS_TABLES: readonly AnalyticsTable[] = [
  'llm_usage',
  'agent_executions',
  'workflow_analytics',
  'tool_calls',
];

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
    { name: 'parent_span_id', type: 'uuid' },
    { name: 'trace_id', type: 'text' },
    { name: 'error_message', type: 'text' },
    { name: 'usage_missing', type: 'bool' },
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
    { name: 'parent_span_id', type: 'uuid' },
    { name: 'trace_id', type: 'text' },
    { name: 'error_message', type: 'text' },
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
    { name: 'parent_span_id', type: 'uuid' },
    { name: 'trace_id', type: 'text' },
    { name: 'error_message', type: 'text' },
  ],
  tool_calls: [
    { name: 'id', type: 'uuid' },
    { name: 'timestamp', type: 'timestamptz' },
    { name: 'tool_name', type: 'text' },
    { name: 'agent_id', type: 'text' },
    { name: 'success', type: 'bool' },
    { name: 'latency_ms', type: 'int4' },
    { name: 'error_type', type: 'text' },
    { name: 'error_message', type: 'text' },
    { name: 'input_size', type: 'int4' },
    { name: 'output_size', type: 'int4' },
    { name: 'input', type: 'text' },
    { name: 'output', type: 'text' },
    { name: 'request_id', type: 'text' },
    { name: 'workflow_id', type: 'text' },
    { name: 'workflow_run_id', type: 'text' },
    { name: 'user_id', type: 'text' },
    { name: 'tenant_id', type: 'text' },
    { name: 'parent_span_id', type: 'uuid' },
    { name: 'trace_id', type: 'text' },
    { name: 'attributes', type: 'jsonb' },
  ],
};

/**
 * One row of a raw table: values in `TABLE_COLUMNS` order. A `timestamptz` value is Unix
 * milliseconds, or ISO 8601 text in rows journaled by earlier versions (still in a spool when
 * the application is upgraded); every writer accepts both.
 */
export type AnalyticsRow = readonly unknown[];

const insertSql = new Map<AnalyticsTable, string>();

/**
 * The batch INSERT of a table: one array parameter per column, expanded with `unnest`, so a batch
 * of any size binds as many parameters as the table has columns (far below PostgreSQL's 65,535
 * limit) and PostgreSQL parses one short statement. `ON CONFLICT DO NOTHING` makes a retried
 * batch idempotent when the first attempt committed but its acknowledgement was lost (rows carry
 * their ids). It names no conflict target so that it also works on tables partitioned by month,
 * whose primary key must include the time column (see docs/analytics.md).
 */
export function batchInsertSql(table: AnalyticsTable): string {
  let sql = insertSql.get(table);
  if (!sql) {
    const columns = TABLE_COLUMNS[table];
    const names = columns.map((c) => `"${c.name}"`).join(', ');
    const arrays = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    sql = `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT DO NOTHING`;
    insertSql.set(table, sql);
  }
  return sql;
}

/**
 * ISO 8601 text of a `timestamptz` value (Unix ms, or text from an older journal, passed on).
 * A number that is no time is left as it is, for PostgreSQL to reject as a data error.
 */
export function timestampText(value: unknown): string {
  if (typeof value === 'number') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
  }
  return String(value);
}

/** Types whose values never need quoting in an array literal (digits, hex, ISO times). */
const BARE_TYPES = new Set<ColumnSpec['type']>(['uuid', 'timestamptz', 'int4', 'numeric']);
const QUOTE_NEEDED = /["\\]/g;

/**
 * One PostgreSQL array literal per column (`{1,2,NULL}`, `{"a","b\"c"}`), the parameters of
 * `batchInsertSql`. Built here rather than by `pg` (which would quote and escape every element
 * through its generic path): it is a large part of the flusher's CPU time.
 */
export function columnArrays(table: AnalyticsTable, rows: readonly AnalyticsRow[]): string[] {
  const columns = TABLE_COLUMNS[table];
  const literals: string[] = [];
  const parts = new Array<string>(rows.length);
  for (let c = 0; c < columns.length; c++) {
    const type = columns[c]!.type;
    for (let r = 0; r < rows.length; r++) {
      const value = rows[r]![c];
      if (value === null || value === undefined) parts[r] = 'NULL';
      else if (type === 'bool') parts[r] = value ? 't' : 'f';
      else if (type === 'timestamptz') parts[r] = timestampText(value);
      // Row values are scalars (numbers, strings, booleans) built by the row mapper.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      else if (BARE_TYPES.has(type)) parts[r] = String(value);
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      else parts[r] = `"${String(value).replace(QUOTE_NEEDED, '\\$&')}"`;
    }
    literals.push(`{${parts.join(',')}}`);
  }
  return literals;
}
