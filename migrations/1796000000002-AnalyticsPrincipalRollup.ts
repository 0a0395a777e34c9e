import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds `llm_usage_hourly_by_principal` (hourly LLM calls, tokens and cost by tenant and user
 * only), so per-tenant and per-user cost reports over long ranges read one row per active
 * principal and hour instead of one per provider, model, agent, workflow, tenant and user.
 * Existing hours are filled by the next aggregator run for its look-back window; older hours with
 * `HourlyAggregator.rebuild(from, to)` (until then reports read them from `llm_usage_hourly`).
 */
export class AnalyticsPrincipalRollup1796000000002 implements MigrationInterface {
  name = 'AnalyticsPrincipalRollup1796000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "llm_usage_hourly_by_principal" (
        "hour" TIMESTAMP WITH TIME ZONE NOT NULL,
        "tenant_id" text NOT NULL DEFAULT '',
        "user_id" text NOT NULL DEFAULT '',
        "calls" bigint NOT NULL DEFAULT '0',
        "failures" bigint NOT NULL DEFAULT '0',
        "prompt_tokens" bigint NOT NULL DEFAULT '0',
        "completion_tokens" bigint NOT NULL DEFAULT '0',
        "cost_cents" numeric(24,9) NOT NULL DEFAULT '0',
        "unpriced_calls" bigint NOT NULL DEFAULT '0',
        CONSTRAINT "PK_llm_usage_hourly_by_principal" PRIMARY KEY ("hour", "tenant_id", "user_id")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "llm_usage_hourly_by_principal"`);
  }
}
