import { Column, Entity, PrimaryColumn } from 'typeorm';

const PK = 'PK_llm_usage_hourly_by_model';

/**
 * Hourly rollup of `llm_usage` by provider and model only (`llm_usage_hourly_by_model`), written
 * by the aggregator beside `llm_usage_hourly`. `llm_usage_hourly` keeps one row per agent,
 * workflow, tenant and user active in an hour, so it grows with the number of users; this table
 * stays a few rows per hour, which keeps month- and year-long cost, token and latency reports by
 * model fast whatever the user count. Same columns and meaning as `llm_usage_hourly`.
 */
@Entity({ name: 'llm_usage_hourly_by_model' })
export class LlmUsageHourlyByModel {
  /** Start of the UTC hour (`date_trunc('hour', timestamp)`). */
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: PK })
  hour!: Date;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: PK })
  provider!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: PK })
  model!: string;

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
