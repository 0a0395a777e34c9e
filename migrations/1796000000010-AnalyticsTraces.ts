import type { MigrationInterface, QueryRunner } from 'typeorm';

const RAW_TABLES = ['llm_usage', 'agent_executions', 'workflow_analytics'] as const;

/**
 * Runs as traces. Every raw row's `id` is the span id of its operation; this adds the parent's
 * span id, the W3C trace id and the error message to the raw tables, and a `tool_calls` table
 * (tool calls were only counted and logged before). Indexes on the trace id and the request id
 * let the API assemble one run or one request from all four tables.
 */
export class AnalyticsTraces1796000000010 implements MigrationInterface {
  name = 'AnalyticsTraces1796000000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of RAW_TABLES) {
      await queryRunner.query(
        `ALTER TABLE "${table}" ADD "parent_span_id" uuid, ADD "trace_id" text, ADD "error_message" text`,
      );
      await queryRunner.query(`CREATE INDEX "IDX_${table}_trace_id" ON "${table}" ("trace_id")`);
      await queryRunner.query(`CREATE INDEX "IDX_${table}_request_id" ON "${table}" ("request_id")`);
    }
    await queryRunner.query(`
      CREATE TABLE "tool_calls" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "timestamp" TIMESTAMP WITH TIME ZONE NOT NULL,
        "tool_name" text NOT NULL,
        "agent_id" text,
        "success" boolean,
        "latency_ms" integer,
        "error_type" text,
        "error_message" text,
        "input_size" integer,
        "output_size" integer,
        "input" text,
        "output" text,
        "request_id" text,
        "workflow_id" text,
        "workflow_run_id" text,
        "user_id" text,
        "tenant_id" text,
        "parent_span_id" uuid,
        "trace_id" text,
        "attributes" jsonb,
        CONSTRAINT "PK_tool_calls" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_tool_calls_timestamp" ON "tool_calls" ("timestamp")`);
    await queryRunner.query(
      `CREATE INDEX "IDX_tool_calls_tool_name_timestamp" ON "tool_calls" ("tool_name", "timestamp")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_tool_calls_trace_id" ON "tool_calls" ("trace_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_tool_calls_request_id" ON "tool_calls" ("request_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "tool_calls"`);
    for (const table of RAW_TABLES) {
      await queryRunner.query(`DROP INDEX "IDX_${table}_request_id"`);
      await queryRunner.query(`DROP INDEX "IDX_${table}_trace_id"`);
      await queryRunner.query(
        `ALTER TABLE "${table}" DROP COLUMN "error_message", DROP COLUMN "trace_id", DROP COLUMN "parent_span_id"`,
      );
    }
  }
}
