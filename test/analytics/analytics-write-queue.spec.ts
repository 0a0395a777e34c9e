import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { PgBatchWriter } from '../../src/monitoring/analytics/ingest/analytics-batch-writer';
import { mapEventToRow } from '../../src/monitoring/analytics/ingest/analytics-row.mapper';
import type { AnalyticsRow } from '../../src/monitoring/analytics/ingest/analytics-tables';
import {
  AnalyticsWriteQueue,
  type AnalyticsWriteQueueSettings,
} from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import type { WorkflowRunEvent } from '../../src/monitoring/events/monitoring-event';
import {
  describeEachDatabase,
  provisionDatabase,
  type ProvisionedDatabase,
} from '../support/analytics-databases';
import { waitFor } from '../support/analytics-app';

function workflowRow(runId: string): AnalyticsRow {
  const event: WorkflowRunEvent = {
    kind: 'workflow_run',
    startedAt: new Date(),
    durationMs: 12.5,
    context: { tenantId: 'acme' },
    workflowId: 'queue-test',
    runId,
    status: 'completed',
    stepsExecuted: 2,
    stepsFailed: 0,
    llmCallsCount: 1,
    tokensUsed: 10,
    costNanoCents: 1_500_000,
  };
  return mapEventToRow(event)!.row;
}

describeEachDatabase('AnalyticsWriteQueue', (kind) => {
  let provisioned: ProvisionedDatabase;
  let database: AnalyticsDatabase;
  let registry: Registry;
  let metrics: AnalyticsMetrics;
  const queues: AnalyticsWriteQueue[] = [];

  const newQueue = (settings: Partial<AnalyticsWriteQueueSettings> = {}) => {
    registry = new Registry();
    metrics = new AnalyticsMetrics(registry, 'magure_');
    const queue = new AnalyticsWriteQueue(
      new PgBatchWriter(database),
      {
        capacity: 100_000,
        batchSize: 1000,
        flushIntervalMs: 20,
        retryInitialMs: 20,
        retryMaxMs: 100,
        ...settings,
      },
      metrics,
    );
    metrics.watchQueue(() => queue.depth);
    queues.push(queue);
    return queue;
  };
  const metric = async (name: string) => registry.getSingleMetricAsString(name);
  const count = async (runPrefix: string) =>
    (
      await database.dataSource!.query(
        `SELECT count(*)::int AS n FROM workflow_analytics WHERE run_id LIKE $1`,
        [`${runPrefix}%`],
      )
    )[0].n;

  beforeAll(async () => {
    provisioned = await provisionDatabase(kind);
    database = new AnalyticsDatabase({ ...provisioned, runMigrations: true, poolSize: 2 });
    await database.open();
  });

  afterEach(() => {
    for (const queue of queues.splice(0)) queue.stop();
  });

  afterAll(async () => {
    await database?.close();
    await provisioned?.cleanup();
  });

  it('writes in batches of at most batchSize rows, one INSERT each', async () => {
    const queue = newQueue({ batchSize: 100, flushIntervalMs: 60_000 });
    for (let i = 0; i < 1_050; i++) queue.enqueue('workflow_analytics', workflowRow(`batch-${i}`));
    expect(await queue.flush()).toBe(true);
    expect(await count('batch-')).toBe(1_050);
    expect(queue.depth).toBe(0);
    expect(await metric('magure_analytics_flush_duration_seconds')).toContain(
      'magure_analytics_flush_duration_seconds_count 11',
    );
    expect(await metric('magure_analytics_rows_written_total')).toContain(
      '{table="workflow_analytics"} 1050',
    );
  });

  it('drops and counts rows beyond the capacity, and keeps the others', async () => {
    const queue = newQueue({ capacity: 10 });
    const accepted = Array.from({ length: 15 }, (_, i) =>
      queue.enqueue('workflow_analytics', workflowRow(`cap-${i}`)),
    );
    expect(accepted.filter(Boolean)).toHaveLength(10);
    expect(await metric('magure_analytics_rows_dropped_total')).toContain(
      '{table="workflow_analytics"} 5',
    );
    expect(await metric('magure_analytics_queue_depth')).toContain(
      'magure_analytics_queue_depth 10',
    );
    queue.start();
    await waitFor('the queue to empty', async () => (queue.depth === 0 ? true : undefined));
    expect(await count('cap-')).toBe(10);
  });

  it('isolates a row the database rejects: the rest of its batch is written, the bad row dropped and counted', async () => {
    const queue = newQueue({ flushIntervalMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      const row = [...workflowRow(`poison-${i}`)];
      if (i === 7) row[3] = 'running'; // violates CHK_workflow_analytics_status
      queue.enqueue('workflow_analytics', row);
    }
    expect(await queue.flush()).toBe(true);
    expect(await count('poison-')).toBe(19);
    expect(queue.depth).toBe(0);
    expect(await metric('magure_analytics_rows_dropped_total')).toContain(
      '{table="workflow_analytics"} 1',
    );
    expect(await metric('magure_analytics_flush_failures_total')).toMatch(
      /magure_analytics_flush_failures_total [1-9]/,
    );
  });

  it('makes a retried batch idempotent (a batch committed twice is stored once)', async () => {
    const writer = new PgBatchWriter(database);
    const rows = [workflowRow('retry-1'), workflowRow('retry-2')];
    expect(await writer.write('workflow_analytics', rows)).toEqual({
      inserted: 2,
      alreadyStored: 0,
    });
    expect(await writer.write('workflow_analytics', rows)).toEqual({
      inserted: 0,
      alreadyStored: 2,
    });
    expect(await count('retry-')).toBe(2);
  });

  it('keeps rows queued while the database is unreachable and counts what the shutdown drain cannot write', async () => {
    const offline = new AnalyticsDatabase({ ...provisioned, runMigrations: false, poolSize: 1 });
    registry = new Registry();
    metrics = new AnalyticsMetrics(registry, 'magure_');
    const queue = new AnalyticsWriteQueue(
      new PgBatchWriter(offline),
      { capacity: 100, batchSize: 10, flushIntervalMs: 10, retryInitialMs: 10, retryMaxMs: 50 },
      metrics,
    );
    for (let i = 0; i < 25; i++) queue.enqueue('workflow_analytics', workflowRow(`offline-${i}`));
    queue.start();
    await waitFor('a few failed attempts', async () =>
      queue.consecutiveFailures >= 3 ? true : undefined,
    );
    expect(queue.depth).toBe(25);
    const result = await queue.drain(100);
    expect(result).toEqual({ dropped: 25, spooled: 0 });
    expect(await metric('magure_analytics_rows_dropped_total')).toContain(
      '{table="workflow_analytics"} 25',
    );
    expect(queue.enqueue('workflow_analytics', workflowRow('after-close'))).toBe(false);
    expect(await count('offline-')).toBe(0);
    await offline.close();
  });

  it('accepts rows with odd values without failing the batch (NUL characters, huge ids, non-finite numbers)', async () => {
    const queue = newQueue({ flushIntervalMs: 60_000 });
    const mapped = mapEventToRow({
      kind: 'llm_call',
      startedAt: new Date(Number.NaN),
      durationMs: Number.POSITIVE_INFINITY,
      context: {
        agentId: 'a\u0000b',
        tenantId: 'x'.repeat(100_000),
        requestId: 'NULL',
        userId: 'q"uo\\te {x},y ünï 😀',
      },
      success: true,
      provider: 'openai',
      model: 'gpt\u0000-4o',
      usage: {
        inputTokens: 1e12,
        outputTokens: -5,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        reasoningTokens: 0,
      },
      costNanoCents: Number.NaN,
      streamed: false,
      attributes: {
        note: 'nul\u0000inside',
        big: 10n as unknown as number,
        id: randomUUID(),
        s: 'x"y\\z{}',
      },
    })!;
    queue.enqueue(mapped.table, mapped.row);
    expect(await queue.flush()).toBe(true);
    const [row] = await database.dataSource!.query(
      `SELECT agent_id, length(tenant_id) AS tenant_length, model, prompt_tokens, completion_tokens, cost_cents,
              attributes->>'note' AS note, attributes->>'big' AS big, attributes->>'s' AS s, request_id, user_id
       FROM llm_usage WHERE agent_id = 'ab'`,
    );
    expect(row).toEqual({
      agent_id: 'ab',
      tenant_length: 1024,
      model: 'gpt-4o',
      prompt_tokens: 2_147_483_647,
      completion_tokens: 0,
      cost_cents: null,
      note: 'nulinside',
      big: '10',
      s: 'x"y\\z{}',
      request_id: 'NULL',
      user_id: 'q"uo\\te {x},y ünï 😀',
    });
  });
});
