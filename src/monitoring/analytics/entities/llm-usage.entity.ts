import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One row per LLM call (`llm_usage`). Append-only and kept forever; reports over long ranges read
 * the hourly rollups instead. Missing correlation ids are NULL.
 */
@Entity({ name: 'llm_usage' })
@Index('IDX_llm_usage_timestamp', ['timestamp'])
@Index('IDX_llm_usage_agent_id_timestamp', ['agentId', 'timestamp'])
@Index('IDX_llm_usage_model_timestamp', ['model', 'timestamp'])
@Index('IDX_llm_usage_tenant_id_timestamp', ['tenantId', 'timestamp'])
@Index('IDX_llm_usage_trace_id', ['traceId'])
@Index('IDX_llm_usage_request_id', ['requestId'])
export class LlmUsage {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_llm_usage' })
  id!: string;

  /** When the call started. */
  @Column({ type: 'timestamptz' })
  timestamp!: Date;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'agent_id', type: 'text', nullable: true })
  agentId!: string | null;

  @Column({ name: 'workflow_id', type: 'text', nullable: true })
  workflowId!: string | null;

  @Column({ name: 'workflow_run_id', type: 'text', nullable: true })
  workflowRunId!: string | null;

  @Column({ type: 'text' })
  provider!: string;

  @Column({ type: 'text' })
  model!: string;

  @Column({ name: 'prompt_tokens', type: 'integer' })
  promptTokens!: number;

  @Column({ name: 'completion_tokens', type: 'integer' })
  completionTokens!: number;

  @Column({ name: 'cached_tokens', type: 'integer', default: 0 })
  cachedTokens!: number;

  @Column({ name: 'cache_write_tokens', type: 'integer', default: 0 })
  cacheWriteTokens!: number;

  @Column({ name: 'reasoning_tokens', type: 'integer', default: 0 })
  reasoningTokens!: number;

  /** Exact cost in US cents as a decimal string; NULL when the model has no known price or the usage is missing. */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 20, scale: 9, nullable: true })
  costCents!: string | null;

  @Column({ name: 'latency_ms', type: 'integer' })
  latencyMs!: number;

  /** Streamed calls: milliseconds until the first chunk arrived (NULL otherwise). */
  @Column({ name: 'time_to_first_chunk_ms', type: 'integer', nullable: true })
  timeToFirstChunkMs!: number | null;

  @Column({ type: 'boolean' })
  success!: boolean;

  @Column({ name: 'error_type', type: 'text', nullable: true })
  errorType!: string | null;

  @Column({ type: 'boolean', default: false })
  streamed!: boolean;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'tenant_id', type: 'text', nullable: true })
  tenantId!: string | null;

  @Column({ name: 'session_id', type: 'text', nullable: true })
  sessionId!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  attributes!: Record<string, unknown> | null;

  /** Span id of the enclosing operation (agent execution, workflow run, tool call or HTTP request). */
  @Column({ name: 'parent_span_id', type: 'uuid', nullable: true })
  parentSpanId!: string | null;

  /** W3C trace id (32 hex) shared by every row of one request or run. */
  @Column({ name: 'trace_id', type: 'text', nullable: true })
  traceId!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  /**
   * A successful call that reported no token usage: its token columns are 0 and its cost NULL
   * because they are unknown, not because the model is unpriced.
   */
  @Column({ name: 'usage_missing', type: 'boolean', default: false })
  usageMissing!: boolean;
}
