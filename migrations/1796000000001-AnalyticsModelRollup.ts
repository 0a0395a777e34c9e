import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds `llm_usage_hourly_by_model` (hourly LLM totals by provider and model only, a few rows per
 * hour whatever the number of users) and indexes for per-tenant and per-user reports on
 * `llm_usage_hourly`. Existing hours are filled by the next aggregator run for its look-back
 * window; older hours with `HourlyAggregator.rebuild(from, to)`.
 */
export class AnalyticsModelRollup1796000000001 implements MigrationInterface {
  name = 'AnalyticsModelRollup1796000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "llm_usage_hourly_by_model" (
        "hour" TIMESTAMP WITH TIME ZONE NOT NULL,
        "provider" text NOT NULL,
        "model" text NOT NULL,
        "calls" bigint NOT NULL DEFAULT '0',
        "failures" bigint NOT NULL DEFAULT '0',
        "prompt_tokens" bigint NOT NULL DEFAULT '0',
        "completion_tokens" bigint NOT NULL DEFAULT '0',
        "cached_tokens" bigint NOT NULL DEFAULT '0',
        "reasoning_tokens" bigint NOT NULL DEFAULT '0',
        "cost_cents" numeric(24,9) NOT NULL DEFAULT '0',
        "unpriced_calls" bigint NOT NULL DEFAULT '0',
        "latency_ms_sum" bigint NOT NULL DEFAULT '0',
        "latency_ms_max" integer,
        "latency_ms_buckets" bigint array NOT NULL,
        CONSTRAINT "PK_llm_usage_hourly_by_model" PRIMARY KEY ("hour", "provider", "model")
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_usage_hourly_tenant_id_hour" ON "llm_usage_hourly" ("tenant_id", "hour")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_usage_hourly_user_id_hour" ON "llm_usage_hourly" ("user_id", "hour")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_llm_usage_hourly_user_id_hour"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_llm_usage_hourly_tenant_id_hour"`);
    await queryRunner.query(`DROP TABLE "llm_usage_hourly_by_model"`);
  }
}
