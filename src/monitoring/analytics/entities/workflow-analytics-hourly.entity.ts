import { Column, Entity, PrimaryColumn } from 'typeorm';

const PK = 'PK_workflow_analytics_hourly';

/**
 * Hourly rollup of `workflow_analytics` (`workflow_analytics_hourly`), keyed by the hour the run
 * finished in. Written only by the aggregator.
 */
@Entity({ name: 'workflow_analytics_hourly' })
export class WorkflowAnalyticsHourly {
  /** Start of the UTC hour (`date_trunc('hour', finished_at)`). */
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: PK })
  hour!: Date;

  @PrimaryColumn({ name: 'workflow_id', type: 'text', primaryKeyConstraintName: PK })
  workflowId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: PK })
  status!: string;

  @PrimaryColumn({ name: 'tenant_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  tenantId!: string;

  @Column({ type: 'bigint', default: 0 })
  runs!: string;

  @Column({ name: 'duration_ms_sum', type: 'bigint', default: 0 })
  durationMsSum!: string;

  @Column({ name: 'duration_ms_max', type: 'integer', nullable: true })
  durationMsMax!: number | null;

  /** Per-bucket counts over `LATENCY_BUCKETS_MS` (+Inf last); see latency-buckets.ts. */
  @Column({ name: 'duration_ms_buckets', type: 'bigint', array: true })
  durationMsBuckets!: string[];

  @Column({ name: 'steps_executed', type: 'bigint', default: 0 })
  stepsExecuted!: string;

  @Column({ name: 'steps_failed', type: 'bigint', default: 0 })
  stepsFailed!: string;

  @Column({ name: 'llm_calls', type: 'bigint', default: 0 })
  llmCalls!: string;

  @Column({ name: 'tokens_used', type: 'bigint', default: 0 })
  tokensUsed!: string;

  /** Sum of the runs' cost, in US cents (exact decimal string). */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 24, scale: 9, default: 0 })
  costCents!: string;
}
