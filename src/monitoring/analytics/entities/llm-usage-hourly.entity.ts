import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

const PK = 'PK_llm_usage_hourly';

/**
 * Hourly rollup of `llm_usage` (`llm_usage_hourly`), written only by the hourly aggregator.
 * Missing ids are '' in the key columns. Counts and sums are `bigint`/`numeric`, read as strings.
 */
@Entity({ name: 'llm_usage_hourly' })
// For reports filtered to one tenant or one user (the primary key starts with the hour).
@Index('IDX_llm_usage_hourly_tenant_id_hour', ['tenantId', 'hour'])
@Index('IDX_llm_usage_hourly_user_id_hour', ['userId', 'hour'])
export class LlmUsageHourly {
  /** Start of the UTC hour (`date_trunc('hour', timestamp)`). */
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: PK })
  hour!: Date;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: PK })
  provider!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: PK })
  model!: string;

  @PrimaryColumn({ name: 'agent_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  agentId!: string;

  @PrimaryColumn({ name: 'workflow_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  workflowId!: string;

  @PrimaryColumn({ name: 'tenant_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  tenantId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  userId!: string;

  @Column({ type: 'bigint', default: 0 })
  calls!: string;

  @Column({ type: 'bigint', default: 0 })
  failures!: string;

  @Column({ name: 'prompt_tokens', type: 'bigint', default: 0 })
  promptTokens!: string;

  @Column({ name: 'completion_tokens', type: 'bigint', default: 0 })
  completionTokens!: string;

  @Column({ name: 'cached_tokens', type: 'bigint', default: 0 })
  cachedTokens!: string;

  @Column({ name: 'reasoning_tokens', type: 'bigint', default: 0 })
  reasoningTokens!: string;

  /** Sum of the priced calls' cost, in US cents (exact decimal string). */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 24, scale: 9, default: 0 })
  costCents!: string;

  /** Successful calls with known usage whose model had no known price (their cost is not in `cost_cents`). */
  @Column({ name: 'unpriced_calls', type: 'bigint', default: 0 })
  unpricedCalls!: string;

  /** Successful calls that reported no token usage (tokens and cost unknown); not in `unpriced_calls`. */
  @Column({ name: 'usage_missing_calls', type: 'bigint', default: 0 })
  usageMissingCalls!: string;

  @Column({ name: 'latency_ms_sum', type: 'bigint', default: 0 })
  latencyMsSum!: string;

  @Column({ name: 'latency_ms_max', type: 'integer', nullable: true })
  latencyMsMax!: number | null;

  /** Per-bucket counts over `LATENCY_BUCKETS_MS` (+Inf last); see latency-buckets.ts. */
  @Column({ name: 'latency_ms_buckets', type: 'bigint', array: true })
  latencyMsBuckets!: string[];
}
