import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One row per agent execution (`agent_executions`). Append-only and kept forever. */
@Entity({ name: 'agent_executions' })
@Index('IDX_agent_executions_timestamp', ['timestamp'])
@Index('IDX_agent_executions_agent_id_timestamp', ['agentId', 'timestamp'])
@Index('IDX_agent_executions_tenant_id_timestamp', ['tenantId', 'timestamp'])
@Index('IDX_agent_executions_trace_id', ['traceId'])
@Index('IDX_agent_executions_request_id', ['requestId'])
export class AgentExecution {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_agent_executions' })
  id!: string;

  /** When the execution started. */
  @Column({ type: 'timestamptz' })
  timestamp!: Date;

  @Column({ name: 'agent_id', type: 'text' })
  agentId!: string;

  @Column({ name: 'agent_type', type: 'text' })
  agentType!: string;

  @Column({ type: 'boolean', nullable: true })
  success!: boolean | null;

  @Column({ name: 'latency_ms', type: 'integer', nullable: true })
  latencyMs!: number | null;

  @Column({ name: 'llm_calls_count', type: 'integer', nullable: true })
  llmCallsCount!: number | null;

  @Column({ name: 'tool_calls_count', type: 'integer', nullable: true })
  toolCallsCount!: number | null;

  @Column({ name: 'tokens_used', type: 'integer', nullable: true })
  tokensUsed!: number | null;

  /** Exact cost of the priced nested LLM calls, in US cents (decimal string). */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 20, scale: 9, default: 0 })
  costCents!: string;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'workflow_id', type: 'text', nullable: true })
  workflowId!: string | null;

  @Column({ name: 'workflow_run_id', type: 'text', nullable: true })
  workflowRunId!: string | null;

  @Column({ name: 'error_type', type: 'text', nullable: true })
  errorType!: string | null;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'tenant_id', type: 'text', nullable: true })
  tenantId!: string | null;

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
}
