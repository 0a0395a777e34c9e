import { Column, Entity, PrimaryColumn } from 'typeorm';

const PK = 'PK_llm_usage_hourly_by_principal';

/**
 * Hourly rollup of `llm_usage` by tenant and user only (`llm_usage_hourly_by_principal`), written
 * by the aggregator beside `llm_usage_hourly`. That table keeps one row per provider, model,
 * agent, workflow, tenant and user active in an hour; this one keeps one per tenant and user,
 * which keeps month-long cost reports by tenant or user fast. Calls, tokens and cost have the
 * same meaning as in `llm_usage_hourly`; latency is not kept here.
 */
@Entity({ name: 'llm_usage_hourly_by_principal' })
export class LlmUsageHourlyByPrincipal {
  /** Start of the UTC hour (`date_trunc('hour', timestamp)`). */
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: PK })
  hour!: Date;

  /** The tenant, '' for calls without one. */
  @PrimaryColumn({ name: 'tenant_id', type: 'text', default: '', primaryKeyConstraintName: PK })
  tenantId!: string;

  /** The user, '' for calls without one. */
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

  /** Sum of the priced calls' cost, in US cents (exact decimal string). */
  @Column({ name: 'cost_cents', type: 'numeric', precision: 24, scale: 9, default: 0 })
  costCents!: string;

  /** Successful calls with known usage but no price (`cost_cents` NULL, usage not missing). */
  @Column({ name: 'unpriced_calls', type: 'bigint', default: 0 })
  unpricedCalls!: string;

  /** Successful calls that reported no token usage (tokens and cost unknown); not in `unpriced_calls`. */
  @Column({ name: 'usage_missing_calls', type: 'bigint', default: 0 })
  usageMissingCalls!: string;
}
