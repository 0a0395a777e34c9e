import { Column, Entity, PrimaryColumn } from 'typeorm';

const PK = 'PK_agent_executions_hourly';

/** Hourly rollup of `agent_executions` (`agent_executions_hourly`), written only by the aggregator. */
@Entity({ name: 'agent_executions_hourly' })
export class AgentExecutionHourly {
  /** Start of the UTC hour (`date_trunc('hour', timestamp)`). */
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: PK })
  hour!: Date;

  @PrimaryColumn({ name: 'agent_id', type: 'text', primaryKeyConstraintName: PK })
  agentId!: string;

  @PrimaryColumn({ name: 'agent_type', type: 'text', primaryKeyConstraintName: PK })
  agentType!: string;

  @PrimaryColumn({ name: 'workflow_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  workflowId!: string;

  @PrimaryColumn({ name: 'tenant_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  tenantId!: string;

  @Column({ type: 'bigint', default: 0 })
  executions!: string;

  /** Executions with `success = false`. */
  @Column({ type: 'bigint', default: 0 })
  failures!: string;

  @Column({ name: 'latency_ms_sum', type: 'bigint', default: 0 })
  latencyMsSum!: string;

  @Column({ name: 'latency_ms_max', type: 'integer', nullable: true })
  latencyMsMax!: number | null;

  /** Per-bucket counts over `LATENCY_BUCKETS_MS` (+Inf last); see latency-buckets.ts. */
  @Column({ name: 'latency_ms_buckets', type: 'bigint', array: true })
  latencyMsBuckets!: string[];

  @Column({ name: 'llm_calls', type: 'bigint', default: 0 })
  llmCalls!: string;

  @Column({ name: 'tool_calls', type: 'bigint', default: 0 })
  toolCalls!: string;

  @Column({ name: 'tokens_used', type: 'bigint', default: 0 })
  tokensUsed!: string;

  /** Sum of the executions' cost, in US cents (exact decimal string). */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 24, scale: 9, default: 0 })
  costCents!: string;
}
