import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One row per tool call (`tool_calls`). Its id is the call's span id; `parent_span_id` is the
 * calling agent execution (or workflow run, or request). Input and output are stored only when
 * `logPrompts` is on; their sizes always.
 */
@Entity({ name: 'tool_calls' })
@Index('IDX_tool_calls_timestamp', ['timestamp'])
@Index('IDX_tool_calls_tool_name_timestamp', ['toolName', 'timestamp'])
@Index('IDX_tool_calls_trace_id', ['traceId'])
@Index('IDX_tool_calls_request_id', ['requestId'])
export class ToolCall {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_tool_calls' })
  id!: string;

  /** When the call started. */
  @Column({ type: 'timestamptz' })
  timestamp!: Date;

  @Column({ name: 'tool_name', type: 'text' })
  toolName!: string;

  /** Id of the calling agent. */
  @Column({ name: 'agent_id', type: 'text', nullable: true })
  agentId!: string | null;

  @Column({ type: 'boolean', nullable: true })
  success!: boolean | null;

  @Column({ name: 'latency_ms', type: 'integer', nullable: true })
  latencyMs!: number | null;

  @Column({ name: 'error_type', type: 'text', nullable: true })
  errorType!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  /** Characters of the input (JSON for objects). */
  @Column({ name: 'input_size', type: 'integer', nullable: true })
  inputSize!: number | null;

  /** Characters of the output (JSON for objects). */
  @Column({ name: 'output_size', type: 'integer', nullable: true })
  outputSize!: number | null;

  /** The input, only with `logPrompts`. */
  @Column({ type: 'text', nullable: true })
  input!: string | null;

  /** The output, only with `logPrompts`. */
  @Column({ type: 'text', nullable: true })
  output!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'workflow_id', type: 'text', nullable: true })
  workflowId!: string | null;

  @Column({ name: 'workflow_run_id', type: 'text', nullable: true })
  workflowRunId!: string | null;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'tenant_id', type: 'text', nullable: true })
  tenantId!: string | null;

  /** Span id of the calling agent execution, workflow run or request. */
  @Column({ name: 'parent_span_id', type: 'uuid', nullable: true })
  parentSpanId!: string | null;

  /** W3C trace id (32 hex). */
  @Column({ name: 'trace_id', type: 'text', nullable: true })
  traceId!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  attributes!: Record<string, unknown> | null;
}
