import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tells "usage missing" apart from "unpriced": `llm_usage.usage_missing` marks a successful call
 * that reported no token usage (tokens and cost unknown, e.g. an OpenAI stream without
 * `stream_options.include_usage`), and the LLM rollups count those calls in `usage_missing_calls`.
 * From this version on `unpriced_calls` counts only successful calls with known usage and no
 * price. Rows written before it keep `usage_missing = false` (they cannot be told apart), so
 * their usage-missing calls stay counted as unpriced.
 */
export class AnalyticsUsageMissing1796000000003 implements MigrationInterface {
  name = 'AnalyticsUsageMissing1796000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A constant default: PostgreSQL 11+ adds the column without rewriting the table.
    await queryRunner.query(`ALTER TABLE "llm_usage" ADD "usage_missing" boolean NOT NULL DEFAULT false`);
    for (const rollup of ['llm_usage_hourly', 'llm_usage_hourly_by_model', 'llm_usage_hourly_by_principal']) {
      await queryRunner.query(`ALTER TABLE "${rollup}" ADD "usage_missing_calls" bigint NOT NULL DEFAULT '0'`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const rollup of ['llm_usage_hourly_by_principal', 'llm_usage_hourly_by_model', 'llm_usage_hourly']) {
      await queryRunner.query(`ALTER TABLE "${rollup}" DROP COLUMN "usage_missing_calls"`);
    }
    await queryRunner.query(`ALTER TABLE "llm_usage" DROP COLUMN "usage_missing"`);
  }
}
