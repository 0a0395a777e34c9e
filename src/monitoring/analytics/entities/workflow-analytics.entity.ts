import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One row per finished workflow run (`workflow_analytics`). Append-only and kept forever. */
@Entity({ name: 'workflow_analytics' })
@Check('CHK_workflow_analytics_status', `"status" IN ('completed', 'failed', 'timeout')`)
@Index('IDX_workflow_analytics_finished_at', ['finishedAt'])
@Index('IDX_workflow_analytics_workflow_id_finished_at', ['workflowId', 'finishedAt'])
@Index('IDX_workflow_analytics_tenant_id_finished_at', ['tenantId', 'finishedAt'])
@Index('IDX_workflow_analytics_trace_id', ['traceId'])
@Index('IDX_workflow_analytics_request_id', ['requestId'])
export class WorkflowAnalytics {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_workflow_analytics' })
  id!: string;

  @Column({ name: 'workflow_id', type: 'text' })
  workflowId!: string;

  @Column({ name: 'run_id', type: 'text' })
  runId!: string;

  /** `completed`, `failed` or `timeout`. */
  @Column({ type: 'text' })
  status!: 'completed' | 'failed' | 'timeout';

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'steps_executed', type: 'integer', nullable: true })
  stepsExecuted!: number | null;

  @Column({ name: 'steps_failed', type: 'integer', nullable: true })
  stepsFailed!: number | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  /** When the run finished; the rollup hour is taken from this column. */
  @Column({ name: 'finished_at', type: 'timestamptz' })
  finishedAt!: Date;

  @Column({ name: 'llm_calls_count', type: 'integer', nullable: true })
  llmCallsCount!: number | null;

  @Column({ name: 'tokens_used', type: 'integer', nullable: true })
  tokensUsed!: number | null;

  /** Exact cost of the priced LLM calls of the run, in US cents (decimal string). */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 20, scale: 9, default: 0 })
  costCents!: string;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

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
