import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { PgBatchWriter } from '../../src/monitoring/analytics/ingest/analytics-batch-writer';
import { mapEventToRow } from '../../src/monitoring/analytics/ingest/analytics-row.mapper';
import {
  TABLE_COLUMNS,
  type AnalyticsRow,
  type AnalyticsTable,
} from '../../src/monitoring/analytics/ingest/analytics-tables';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import { AnalyticsSpool } from '../../src/monitoring/analytics/ingest/analytics-spool';
import type { MonitoringEvent } from '../../src/monitoring/events/monitoring-event';
import { uuidV7 } from '../../src/monitoring/tracing/uuid-v7';
import {
  describeEachDatabase,
  describeWithPostgres,
  provisionDatabase,
  type ProvisionedDatabase,
} from '../support/analytics-databases';
import { waitFor } from '../support/analytics-app';
import { startPostgres, type TestPostgres } from '../support/postgres-server';
import { TcpProxy } from '../support/tcp-proxy';

/** Values that stress every column type: NULLs, escapes, multi-byte text, numeric edge cases. */
const TEXTS = [
  'plain',
  'tab\there, newline\nthere, cr\r, backslash \\ and \\N',
  'q"uo\'te {x},y ünï 😀',
  '',
  'NULL',
];
const NUMERICS = [
  '0',
  '0.000000001',
  '0.0027',
  '36',
  '10000',
  '12345678901.123456789',
  '-3.5',
  '100000000',
  '0.1',
];
const INTS = [0, 1, 2_147_483_647, 1234, 99_999];
const TIMES = [
  '2026-12-05T23:00:00.123Z',
  '1999-12-31T23:59:59.999Z',
  '2000-01-01T00:00:00.000Z',
  '2038-01-19T03:14:08.001Z',
];
const JSONS = ['{"a":1,"s":"x\\"y\\\\z\\n"}', '{}', '{"nested":{"ü":[1,2.5,null,true]}}'];

/** Rows of `table` whose column values cycle through the edge values above (NULL where allowed). */
function edgeRows(table: AnalyticsTable, count: number): AnalyticsRow[] {
  const columns = TABLE_COLUMNS[table];
  return Array.from({ length: count }, (_, r) =>
    columns.map((column, c) => {
      const k = r + c;
      const nullable = ![
        'id',
        'timestamp',
        'provider',
        'model',
        'started_at',
        'finished_at',
        'agent_id',
        'agent_type',
        'workflow_id',
        'run_id',
        'status',
        'prompt_tokens',
        'completion_tokens',
        'cached_tokens',
        'cache_write_tokens',
        'reasoning_tokens',
        'latency_ms',
        'success',
        'streamed',
        'cost_cents',
        'usage_missing',
      ].includes(column.name);
      if (nullable && k % 7 === 3) return null;
      switch (column.type) {
        case 'uuid':
          return uuidV7();
        case 'timestamptz':
          // Unix ms as the row mapper makes them; ISO text as older versions journaled them.
          return k % 2 === 0 ? Date.parse(TIMES[k % TIMES.length]!) : TIMES[k % TIMES.length]!;
        case 'text':
          return column.name === 'status' ? 'completed' : TEXTS[k % TEXTS.length]!;
        case 'int4':
          return INTS[k % INTS.length]!;
        case 'bool':
          return k % 2 === 0;
        case 'numeric':
          return NUMERICS[k % NUMERICS.length]!;
        case 'jsonb':
          return JSONS[k % JSONS.length]!;
      }
    }),
  );
}

describeWithPostgres(
  'PgBatchWriter on PostgreSQL: COPY (binary and text) stores what INSERT stores',
  () => {
    let provisioned: ProvisionedDatabase;
    let database: AnalyticsDatabase;

    beforeAll(async () => {
      provisioned = await provisionDatabase('postgresql');
      database = new AnalyticsDatabase({ ...provisioned, runMigrations: true, poolSize: 2 });
      await database.open();
    });

    afterAll(async () => {
      await database?.close();
      await provisioned?.cleanup();
    });

    const readAll = async (table: AnalyticsTable) => {
      const rows: Record<string, unknown>[] = await database.dataSource!.query(
        `SELECT * FROM "${table}" ORDER BY id`,
      );
      return rows;
    };

    for (const table of ['llm_usage', 'agent_executions', 'workflow_analytics'] as const) {
      it(`writes every value of ${table} identically with COPY binary, COPY text and INSERT ... unnest`, async () => {
        const rows = edgeRows(table, 60);
        const stored: Record<string, Record<string, unknown>[]> = {};
        const writers = {
          insert: new PgBatchWriter(database, { method: 'insert' }),
          binary: new PgBatchWriter(database, { method: 'copy', copyFormat: 'binary' }),
          text: new PgBatchWriter(database, { method: 'copy', copyFormat: 'text' }),
        };
        for (const [name, writer] of Object.entries(writers)) {
          await database.dataSource!.query(`TRUNCATE "${table}"`);
          expect(await writer.write(table, rows)).toEqual({ inserted: 60, alreadyStored: 0 });
          stored[name] = await readAll(table);
        }
        expect(stored.insert).toHaveLength(60);
        expect(stored.binary).toEqual(stored.insert);
        expect(stored.text).toEqual(stored.insert);
      });
    }

    it('keeps exact decimal costs and microsecond-exact times through the binary encoding', async () => {
      await database.dataSource!.query('TRUNCATE agent_executions');
      const rows = edgeRows('agent_executions', NUMERICS.length);
      const column = (name: string) =>
        TABLE_COLUMNS.agent_executions.findIndex((c) => c.name === name);
      rows.forEach((row, i) => {
        const values = row as unknown[];
        values[column('cost_cents')] = NUMERICS[i];
        values[column('timestamp')] = TIMES[i % TIMES.length];
        values[column('request_id')] = `row-${i}`;
      });
      await new PgBatchWriter(database, { copyFormat: 'binary' }).write('agent_executions', rows);
      const stored = await database.dataSource!.query(
        `SELECT cost_cents::text AS cost, to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t
         FROM agent_executions ORDER BY request_id`,
      );
      expect(stored.map((r: { cost: string }) => r.cost)).toEqual([
        '0.000000000',
        '0.000000001',
        '0.002700000',
        '36.000000000',
        '10000.000000000',
        '12345678901.123456789',
        '-3.500000000',
        '100000000.000000000',
        '0.100000000',
      ]);
      expect(stored.slice(0, 4).map((r: { t: string }) => r.t)).toEqual([
        '2026-12-05T23:00:00.123000',
        '1999-12-31T23:59:59.999000',
        '2000-01-01T00:00:00.000000',
        '2038-01-19T03:14:08.001000',
      ]);
    });

    it('stores a batch once when it is written again, reporting the repeated rows as already stored', async () => {
      await database.dataSource!.query('TRUNCATE workflow_analytics');
      const writer = new PgBatchWriter(database);
      const first = edgeRows('workflow_analytics', 30);
      expect(await writer.write('workflow_analytics', first)).toEqual({
        inserted: 30,
        alreadyStored: 0,
      });
      // A retry that also carries rows queued meanwhile: only the new rows are stored.
      const grown = [...first, ...edgeRows('workflow_analytics', 12)];
      expect(await writer.write('workflow_analytics', grown)).toEqual({
        inserted: 12,
        alreadyStored: 30,
      });
      const [{ n }] = await database.dataSource!.query(
        'SELECT count(*)::int AS n FROM workflow_analytics',
      );
      expect(n).toBe(42);
    });

    it('refuses a value its column type cannot hold with a data error, before sending anything', async () => {
      const rows = edgeRows('llm_usage', 2);
      (rows[1] as unknown[])[0] = 'not-a-uuid';
      await expect(new PgBatchWriter(database).write('llm_usage', rows)).rejects.toMatchObject({
        code: '22P02',
        message: 'llm_usage.id: not a UUID: not-a-uuid',
      });
    });
  },
);

describeEachDatabase('PgBatchWriter', (kind) => {
  const db = useMigratedDatabase(kind);

  it('writes a batch and skips it when written again, whichever method the database allows', async () => {
    // PGlite cannot take COPY FROM STDIN over its socket: the writer uses INSERT there.
    const writer = new PgBatchWriter(db(), { method: 'copy' });
    const rows = Array.from(
      { length: 25 },
      (_, i) =>
        mapEventToRow({
          kind: 'llm_call',
          startedAt: new Date(Date.UTC(2026, 11, 5, 12, 0, i)),
          durationMs: 100 + i,
          context: { agentId: `writer-${kind}`, tenantId: 'acme' },
          success: true,
          provider: 'openai',
          model: 'gpt-4o-mini',
          usage: {
            inputTokens: 10,
            outputTokens: 5,
            cachedInputTokens: 0,
            cacheWriteInputTokens: 0,
            reasoningTokens: 0,
          },
          costNanoCents: 2_700_000,
          streamed: false,
        })!.row,
    );
    expect(await writer.write('llm_usage', rows)).toEqual({ inserted: 25, alreadyStored: 0 });
    expect(await writer.write('llm_usage', rows)).toEqual({ inserted: 0, alreadyStored: 25 });
    const [row] = await db().dataSource!.query(
      `SELECT count(*)::int AS n, sum(cost_cents)::text AS cost, min("timestamp") AS first
         FROM llm_usage WHERE agent_id = $1`,
      [`writer-${kind}`],
    );
    expect(row).toEqual({
      n: 25,
      cost: '0.067500000',
      first: new Date(Date.UTC(2026, 11, 5, 12, 0, 0)),
    });
  });
});

/**
 * A journal segment as the previous version wrote it (times as ISO 8601 text), one row per raw
 * table; `PREVIOUS_EVENTS` are the events it was made from.
 */
const PREVIOUS_VERSION_JOURNAL = [
  '["llm_usage",["0190a000-0000-7000-8000-0000000000a1","2026-11-30T08:00:00.123Z","req-old-1","agent-1","wf","run-1","openai","gpt-4o-mini",120,48,0,0,0,"0.00468",250,null,true,null,false,"u1","t1",null,"{\\"k\\":\\"v\\"}",null,"4bf92f3577b34da6a3ce929d0e0e4736",null,false]]',
  '["agent_executions",["0190a000-0000-7000-8000-0000000000a2","2026-11-30T08:00:00.120Z","agent-1","llm",true,260,1,0,168,"0.00468","req-old-1","wf","run-1",null,"u1","t1","{\\"k\\":\\"v\\"}",null,"4bf92f3577b34da6a3ce929d0e0e4736",null]]',
  '["workflow_analytics",["0190a000-0000-7000-8000-0000000000a3","wf","run-1","completed",1001,3,0,"2026-11-30T07:59:59.999Z","2026-11-30T08:00:01.000Z",1,168,"0.00468","req-old-1",null,"u1","t1","{\\"k\\":\\"v\\"}",null,"4bf92f3577b34da6a3ce929d0e0e4736",null]]',
  '["tool_calls",["0190a000-0000-7000-8000-0000000000a4","2026-11-30T08:00:00.200Z","search","agent-1",true,5,null,null,10,20,null,null,"req-old-1","wf","run-1","u1","t1",null,"4bf92f3577b34da6a3ce929d0e0e4736","{\\"k\\":\\"v\\"}"]]',
].join('\n') + '\n';

function previousEvents(): MonitoringEvent[] {
  const base = {
    context: {
      requestId: 'req-old-1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      tenantId: 't1',
      userId: 'u1',
      workflowId: 'wf',
      workflowRunId: 'run-1',
      agentId: 'agent-1',
    },
    success: true,
    attributes: { k: 'v' },
  };
  return [
    { ...base, kind: 'llm_call', spanId: '0190a000-0000-7000-8000-0000000000b1', startedAt: new Date('2026-11-30T08:00:00.123Z'), durationMs: 250, provider: 'openai', model: 'gpt-4o-mini', usage: { inputTokens: 120, outputTokens: 48, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 }, costNanoCents: 4_680_000, streamed: false },
    { ...base, kind: 'agent_execution', spanId: '0190a000-0000-7000-8000-0000000000b2', startedAt: new Date('2026-11-30T08:00:00.120Z'), durationMs: 260, agentId: 'agent-1', agentType: 'llm', llmCallsCount: 1, toolCallsCount: 0, tokensUsed: 168, costNanoCents: 4_680_000 },
    { ...base, kind: 'workflow_run', spanId: '0190a000-0000-7000-8000-0000000000b3', startedAt: new Date('2026-11-30T07:59:59.999Z'), durationMs: 1001, workflowId: 'wf', runId: 'run-1', status: 'completed', stepsExecuted: 3, stepsFailed: 0, llmCallsCount: 1, tokensUsed: 168, costNanoCents: 4_680_000 },
    { ...base, kind: 'tool_call', spanId: '0190a000-0000-7000-8000-0000000000b4', startedAt: new Date('2026-11-30T08:00:00.200Z'), durationMs: 5, toolName: 'search', inputSize: 10, outputSize: 20 },
  ];
}

describeEachDatabase('Spool written by the previous version', (kind) => {
  const db = useMigratedDatabase(kind);

  it('replays a journal whose times are ISO text, storing exactly what the same events store today', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mon-spool-previous-'));
    writeFileSync(join(dir, 'journal-000000000001.jsonl'), PREVIOUS_VERSION_JOURNAL);
    const spool = new AnalyticsSpool({ dir, maxBytes: 1024 * 1024, fsync: 'never', fsyncIntervalMs: 1000 });
    spool.open();
    const registry = new Registry();
    const queue = new AnalyticsWriteQueue(
      new PgBatchWriter(db()),
      { capacity: 100, batchSize: 100, flushIntervalMs: 60_000 },
      new AnalyticsMetrics(registry, 'magure_'),
      spool,
    );
    await queue.replaySpool();
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    // The same events recorded by this version (times as Unix ms in the rows), other ids.
    for (const event of previousEvents()) {
      const mapped = mapEventToRow(event)!;
      expect(typeof mapped.row[mapped.table === 'workflow_analytics' ? 7 : 1]).toBe('number');
      queue.enqueue(mapped.table, mapped.row);
    }
    queue.start();
    expect(await queue.flush()).toBe(true);
    queue.stop();
    spool.close();

    const tables = ['llm_usage', 'agent_executions', 'workflow_analytics', 'tool_calls'] as const;
    for (const [i, table] of tables.entries()) {
      const rows: Record<string, unknown>[] = await db().dataSource!.query(
        `SELECT * FROM "${table}" WHERE request_id = 'req-old-1' ORDER BY id`,
      );
      expect(rows.map((r) => r.id)).toEqual([
        `0190a000-0000-7000-8000-0000000000a${i + 1}`,
        `0190a000-0000-7000-8000-0000000000b${i + 1}`,
      ]);
      const [previous, current] = rows.map(({ id: _id, ...rest }) => rest);
      expect(Object.keys(previous!).length).toBeGreaterThan(15);
      expect(previous).toEqual(current);
    }
    const [times] = await db().dataSource!.query(
      `SELECT to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t FROM llm_usage WHERE id = '0190a000-0000-7000-8000-0000000000a1'`,
    );
    expect(times).toEqual({ t: '2026-11-30T08:00:00.123000' });
    const [workflow] = await db().dataSource!.query(
      `SELECT started_at, finished_at FROM workflow_analytics WHERE id = '0190a000-0000-7000-8000-0000000000a3'`,
    );
    expect(workflow).toEqual({
      started_at: new Date('2026-11-30T07:59:59.999Z'),
      finished_at: new Date('2026-11-30T08:00:01.000Z'),
    });
  });
});

/** The protocol message that ends COPY data ('c', length 4). */
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

describeWithPostgres(
  'analytics ingest after an ambiguous failure (commit done, reply lost)',
  () => {
    let pg: TestPostgres;
    let proxy: TcpProxy;
    let database: AnalyticsDatabase;

    beforeAll(async () => {
      pg = await startPostgres();
      const target = new URL(pg.url);
      proxy = new TcpProxy(target.hostname, Number(target.port));
      await proxy.start();
      const viaProxy = new URL(pg.url);
      viaProxy.port = String(proxy.port);
      database = new AnalyticsDatabase({
        databaseUrl: viaProxy.toString(),
        embeddedDatabaseDir: ':memory:',
        runMigrations: true,
        poolSize: 2,
      });
      await database.open();
    });

    afterAll(async () => {
      await database?.close();
      await proxy?.stop();
      await pg?.stop();
    });

    it('stores every row once and counts in rows_written_total only what PostgreSQL confirmed', async () => {
      const registry = new Registry();
      const metrics = new AnalyticsMetrics(registry, 'magure_');
      const queue = new AnalyticsWriteQueue(
        new PgBatchWriter(database, { timeoutMs: 400 }),
        {
          capacity: 10_000,
          batchSize: 1000,
          flushIntervalMs: 50,
          retryInitialMs: 20,
          retryMaxMs: 50,
        },
        metrics,
      );
      const rows = edgeRows('workflow_analytics', 600);
      const count = async () =>
        (await database.dataSource!.query('SELECT count(*)::int AS n FROM workflow_analytics'))[0]
          .n as number;
      const written = async () =>
        /magure_analytics_rows_written_total\{table="workflow_analytics"\} (\d+)/.exec(
          await registry.getSingleMetricAsString('magure_analytics_rows_written_total'),
        )?.[1];
      await database.dataSource!.query('TRUNCATE workflow_analytics');

      // 1. 200 rows written and acknowledged.
      for (const row of rows.slice(0, 200)) queue.enqueue('workflow_analytics', row);
      expect(await queue.flush()).toBe(true);
      // 2. 300 rows: PostgreSQL commits them, the acknowledgement never arrives, the write times out.
      proxy.muteRepliesAfter(COPY_DONE);
      for (const row of rows.slice(200, 500)) queue.enqueue('workflow_analytics', row);
      expect(await queue.flush()).toBe(false);
      expect(queue.depth).toBe(300);
      proxy.restore();
      await waitFor('the unacknowledged COPY to be visible', async () =>
        (await count()) === 500 ? true : undefined,
      );
      // 3. The retry carries the 300 stored rows and 100 new ones.
      for (const row of rows.slice(500)) queue.enqueue('workflow_analytics', row);
      queue.start();
      await waitFor('the queue to drain', async () => (queue.depth === 0 ? true : undefined));
      queue.stop();

      expect(await count()).toBe(600);
      const [{ distinct }] = await database.dataSource!.query(
        'SELECT count(DISTINCT id)::int AS distinct FROM workflow_analytics',
      );
      expect(distinct).toBe(600);
      // The counter matches the table: 200 acknowledged, then the retried batch (the 300 whose reply
      // was lost and 100 new ones) counted once when PostgreSQL confirmed it, all of it now stored.
      expect(await written()).toBe('600');
      // The stored rows were recognised as such, not taken for rejected rows and dropped.
      expect(
        await registry.getSingleMetricAsString('magure_analytics_rows_dropped_total'),
      ).toContain('{table="workflow_analytics"} 0');
      expect(
        await registry.getSingleMetricAsString('magure_analytics_flush_failures_total'),
      ).toMatch(/magure_analytics_flush_failures_total [1-9]/);
    });
  },
);

/** A migrated database of `kind` for the tests of one describe block, opened before and closed after them. */
function useMigratedDatabase(kind: Parameters<typeof provisionDatabase>[0]): () => AnalyticsDatabase {
  let provisioned: ProvisionedDatabase | undefined;
  let database: AnalyticsDatabase | undefined;
  beforeAll(async () => {
    provisioned = await provisionDatabase(kind);
    database = new AnalyticsDatabase({ ...provisioned, runMigrations: true, poolSize: 2 });
    await database.open();
  });
  afterAll(async () => {
    await database?.close();
    await provisioned?.cleanup();
  });
  return () => database!;
}
