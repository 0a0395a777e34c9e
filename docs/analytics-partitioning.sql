-- Monthly declarative partitioning of llm_usage (PostgreSQL 13+), for installations writing
-- hundreds of millions of rows. agent_executions ("timestamp") and workflow_analytics
-- ("finished_at") follow the same pattern. Run it in a maintenance window with the app stopped
-- (or ANALYTICS_ENABLED=false): step 4 copies every existing row.

BEGIN;

-- 1. Keep the existing rows aside (their indexes go with the old table).
ALTER TABLE llm_usage RENAME TO llm_usage_unpartitioned;
ALTER TABLE llm_usage_unpartitioned RENAME CONSTRAINT "PK_llm_usage" TO "PK_llm_usage_unpartitioned";
DROP INDEX "IDX_llm_usage_timestamp", "IDX_llm_usage_agent_id_timestamp",
  "IDX_llm_usage_model_timestamp", "IDX_llm_usage_tenant_id_timestamp";

-- 2. The partitioned table: same columns and defaults; the primary key must contain the
--    partition key. (The ingest's ON CONFLICT DO NOTHING names no conflict target, so retried
--    batches stay idempotent: a retried row has the same id and the same timestamp.)
CREATE TABLE llm_usage (LIKE llm_usage_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE ("timestamp");
ALTER TABLE llm_usage ADD CONSTRAINT "PK_llm_usage" PRIMARY KEY ("id", "timestamp");
CREATE INDEX "IDX_llm_usage_timestamp" ON llm_usage ("timestamp");
CREATE INDEX "IDX_llm_usage_agent_id_timestamp" ON llm_usage ("agent_id", "timestamp");
CREATE INDEX "IDX_llm_usage_model_timestamp" ON llm_usage ("model", "timestamp");
CREATE INDEX "IDX_llm_usage_tenant_id_timestamp" ON llm_usage ("tenant_id", "timestamp");

-- 3. One partition per UTC month, from the oldest row to three months ahead, and a default
--    partition so that no row is ever rejected (e.g. a clock far off).
DO $$
DECLARE
  month timestamptz := date_trunc('month', COALESCE((SELECT min("timestamp") FROM llm_usage_unpartitioned), now()), 'UTC');
BEGIN
  WHILE month < date_trunc('month', now(), 'UTC') + interval '4 months' LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF llm_usage FOR VALUES FROM (%L) TO (%L)',
      'llm_usage_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM'), month, month + interval '1 month');
    month := month + interval '1 month';
  END LOOP;
END $$;
CREATE TABLE llm_usage_default PARTITION OF llm_usage DEFAULT;

-- 4. Move the history into the partitions.
INSERT INTO llm_usage SELECT * FROM llm_usage_unpartitioned;
DROP TABLE llm_usage_unpartitioned;

COMMIT;

-- Every month (pg_cron, or any scheduler), create the partition three months ahead, e.g.:
--   CREATE TABLE IF NOT EXISTS llm_usage_2027_03 PARTITION OF llm_usage
--     FOR VALUES FROM ('2027-03-01 00:00+00') TO ('2027-04-01 00:00+00');
-- (Creating a partition fails if the default partition already holds rows of its range: keep
-- the partitions ahead of time, and move such rows out of the default partition first.)
