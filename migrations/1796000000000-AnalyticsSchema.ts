import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creates the analytics schema: three append-only raw tables (one row per LLM call, agent
 * execution and workflow run, kept forever), their hourly rollups, and the aggregator's progress.
 *
 * Migrations are frozen history: this file never imports application code, so later changes to
 * the entities cannot change what it does. `synchronize` is never used; the test
 * test/analytics/schema-drift.spec.ts proves the entities and these migrations agree.
 */
export class AnalyticsSchema1796000000000 implements MigrationInterface {
  name = 'AnalyticsSchema1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // gen_random_uuid() is built in since PostgreSQL 13 (and in PGlite); rows written by the
    // ingest carry their own ids, the default serves manual inserts.
    await queryRunner.query(`
      CREATE TABLE "llm_usage" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "timestamp" TIMESTAMP WITH TIME ZONE NOT NULL,
        "request_id" text,
        "agent_id" text,
        "workflow_id" text,
        "workflow_run_id" text,
        "provider" text NOT NULL,
        "model" text NOT NULL,
        "prompt_tokens" integer NOT NULL,
        "completion_tokens" integer NOT NULL,
        "cached_tokens" integer NOT NULL DEFAULT '0',
        "cache_write_tokens" integer NOT NULL DEFAULT '0',
        "reasoning_tokens" integer NOT NULL DEFAULT '0',
        "cost_cents" numeric(20,9),
        "latency_ms" integer NOT NULL,
        "time_to_first_chunk_ms" integer,
        "success" boolean NOT NULL,
        "error_type" text,
        "streamed" boolean NOT NULL DEFAULT false,
        "user_id" text,
        "tenant_id" text,
        "session_id" text,
        "attributes" jsonb,
        CONSTRAINT "PK_llm_usage" PRIMARY KEY ("id")
      )`);
    // B-tree, not BRIN, on the time column: reports also need "latest N rows" ordered by time,
    // which BRIN cannot serve (measurements in docs/analytics.md).
    await queryRunner.query(`CREATE INDEX "IDX_llm_usage_timestamp" ON "llm_usage" ("timestamp")`);
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_usage_agent_id_timestamp" ON "llm_usage" ("agent_id", "timestamp")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_usage_model_timestamp" ON "llm_usage" ("model", "timestamp")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_usage_tenant_id_timestamp" ON "llm_usage" ("tenant_id", "timestamp")`,
    );

    await queryRunner.query(`
      CREATE TABLE "agent_executions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "timestamp" TIMESTAMP WITH TIME ZONE NOT NULL,
        "agent_id" text NOT NULL,
        "agent_type" text NOT NULL,
        "success" boolean,
        "latency_ms" integer,
        "llm_calls_count" integer,
        "tool_calls_count" integer,
        "tokens_used" integer,
        "cost_cents" numeric(20,9) NOT NULL DEFAULT '0',
        "request_id" text,
        "workflow_id" text,
        "workflow_run_id" text,
        "error_type" text,
        "user_id" text,
        "tenant_id" text,
        "attributes" jsonb,
        CONSTRAINT "PK_agent_executions" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_agent_executions_timestamp" ON "agent_executions" ("timestamp")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_agent_executions_agent_id_timestamp" ON "agent_executions" ("agent_id", "timestamp")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_agent_executions_tenant_id_timestamp" ON "agent_executions" ("tenant_id", "timestamp")`,
    );

    await queryRunner.query(`
      CREATE TABLE "workflow_analytics" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "workflow_id" text NOT NULL,
        "run_id" text NOT NULL,
        "status" text NOT NULL,
        "duration_ms" integer,
        "steps_executed" integer,
        "steps_failed" integer,
        "started_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "finished_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "llm_calls_count" integer,
        "tokens_used" integer,
        "cost_cents" numeric(20,9) NOT NULL DEFAULT '0',
        "request_id" text,
        "error_type" text,
        "user_id" text,
        "tenant_id" text,
        "attributes" jsonb,
        CONSTRAINT "CHK_workflow_analytics_status" CHECK ("status" IN ('completed', 'failed', 'timeout')),
        CONSTRAINT "PK_workflow_analytics" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_workflow_analytics_finished_at" ON "workflow_analytics" ("finished_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_workflow_analytics_workflow_id_finished_at" ON "workflow_analytics" ("workflow_id", "finished_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_workflow_analytics_tenant_id_finished_at" ON "workflow_analytics" ("tenant_id", "finished_at")`,
    );

    // Rollups: missing ids are '' so they can be part of the primary key the upserts target.
    await queryRunner.query(`
      CREATE TABLE "llm_usage_hourly" (
        "hour" TIMESTAMP WITH TIME ZONE NOT NULL,
        "provider" text NOT NULL,
        "model" text NOT NULL,
        "agent_id" text NOT NULL DEFAULT '',
        "workflow_id" text NOT NULL DEFAULT '',
        "tenant_id" text NOT NULL DEFAULT '',
        "user_id" text NOT NULL DEFAULT '',
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
        CONSTRAINT "PK_llm_usage_hourly"
          PRIMARY KEY ("hour", "provider", "model", "agent_id", "workflow_id", "tenant_id", "user_id")
      )`);
    await queryRunner.query(`
      CREATE TABLE "agent_executions_hourly" (
        "hour" TIMESTAMP WITH TIME ZONE NOT NULL,
        "agent_id" text NOT NULL,
        "agent_type" text NOT NULL,
        "workflow_id" text NOT NULL DEFAULT '',
        "tenant_id" text NOT NULL DEFAULT '',
        "executions" bigint NOT NULL DEFAULT '0',
        "failures" bigint NOT NULL DEFAULT '0',
        "latency_ms_sum" bigint NOT NULL DEFAULT '0',
        "latency_ms_max" integer,
        "latency_ms_buckets" bigint array NOT NULL,
        "llm_calls" bigint NOT NULL DEFAULT '0',
        "tool_calls" bigint NOT NULL DEFAULT '0',
        "tokens_used" bigint NOT NULL DEFAULT '0',
        "cost_cents" numeric(24,9) NOT NULL DEFAULT '0',
        CONSTRAINT "PK_agent_executions_hourly" PRIMARY KEY ("hour", "agent_id", "agent_type", "workflow_id", "tenant_id")
      )`);
    await queryRunner.query(`
      CREATE TABLE "workflow_analytics_hourly" (
        "hour" TIMESTAMP WITH TIME ZONE NOT NULL,
        "workflow_id" text NOT NULL,
        "status" text NOT NULL,
        "tenant_id" text NOT NULL DEFAULT '',
        "runs" bigint NOT NULL DEFAULT '0',
        "duration_ms_sum" bigint NOT NULL DEFAULT '0',
        "duration_ms_max" integer,
        "duration_ms_buckets" bigint array NOT NULL,
        "steps_executed" bigint NOT NULL DEFAULT '0',
        "steps_failed" bigint NOT NULL DEFAULT '0',
        "llm_calls" bigint NOT NULL DEFAULT '0',
        "tokens_used" bigint NOT NULL DEFAULT '0',
        "cost_cents" numeric(24,9) NOT NULL DEFAULT '0',
        CONSTRAINT "PK_workflow_analytics_hourly" PRIMARY KEY ("hour", "workflow_id", "status", "tenant_id")
      )`);
    await queryRunner.query(`
      CREATE TABLE "analytics_aggregation_state" (
        "name" text NOT NULL,
        "last_closed_hour" TIMESTAMP WITH TIME ZONE,
        "updated_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "PK_analytics_aggregation_state" PRIMARY KEY ("name")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "analytics_aggregation_state"`);
    await queryRunner.query(`DROP TABLE "workflow_analytics_hourly"`);
    await queryRunner.query(`DROP TABLE "agent_executions_hourly"`);
    await queryRunner.query(`DROP TABLE "llm_usage_hourly"`);
    await queryRunner.query(`DROP TABLE "workflow_analytics"`);
    await queryRunner.query(`DROP TABLE "agent_executions"`);
    await queryRunner.query(`DROP TABLE "llm_usage"`);
  }
}
