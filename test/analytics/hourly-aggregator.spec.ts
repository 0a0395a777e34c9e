import { isDeepStrictEqual } from 'node:util';
import { Registry } from 'prom-client';
import {
  GENERATE_AGENT_EXECUTIONS_SQL,
  GENERATE_LLM_USAGE_SQL,
  GENERATE_WORKFLOW_ANALYTICS_SQL,
} from '../../bench/analytics-data';
import { HourlyAggregator } from '../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import {
  describeEachDatabase,
  provisionDatabase,
  type ProvisionedDatabase,
} from '../support/analytics-databases';
import { actualRollups, expectedRollups } from '../support/rollup-expectations';

const HOUR = 3_600_000;
const H0 = Math.floor(Date.now() / HOUR) * HOUR;
const at = (hoursFromH0: number, minutes = 0) =>
  new Date(H0 + hoursFromH0 * HOUR + minutes * 60_000);

const DATA_FROM = at(-100);
const DATA_TO = at(-2);
/** The first run happens at C1 (+10 min); the app is later down from C1 + 1h until H0. */
const C1 = -40;

async function generate(db: AnalyticsDatabase): Promise<void> {
  const ds = db.dataSource!;
  await ds.query(GENERATE_LLM_USAGE_SQL, [DATA_FROM, DATA_TO, 12_000, 1]);
  await ds.query(GENERATE_AGENT_EXECUTIONS_SQL, [DATA_FROM, DATA_TO, 4_000, 1]);
  await ds.query(GENERATE_WORKFLOW_ANALYTICS_SQL, [DATA_FROM, DATA_TO, 2_000, 1]);
}

async function insertLateRows(
  db: AnalyticsDatabase,
  agentId: string,
  hour: Date,
  count: number,
): Promise<void> {
  await db.dataSource!.query(
    `INSERT INTO llm_usage (timestamp, agent_id, provider, model, prompt_tokens, completion_tokens, cost_cents, latency_ms, success)
     SELECT $1::timestamptz + i * interval '1 second', $2, 'openai', 'gpt-4o-mini', 100, 10, 0.0015, 120, true
     FROM generate_series(1, $3::int) AS i`,
    [hour, agentId, count],
  );
  await db.dataSource!.query(
    `INSERT INTO workflow_analytics (workflow_id, run_id, status, duration_ms, started_at, finished_at, cost_cents)
     SELECT 'late-workflow', $2 || i, 'completed', 1000, $1::timestamptz, $1::timestamptz + i * interval '1 second', 0.5
     FROM generate_series(1, $3::int) AS i`,
    [hour, agentId, count],
  );
}

/** Rollup keys whose row differs from the recomputation from raw rows (with both versions). */
async function rollupMismatches(db: AnalyticsDatabase, from: Date, to: Date): Promise<string[]> {
  const expected = await expectedRollups(db.dataSource!, from, to);
  const actual = await actualRollups(db.dataSource!, from, to);
  const problems: string[] = [];
  for (const table of Object.keys(expected)) {
    const want = expected[table]!;
    const got = actual[table]!;
    for (const key of new Set([...want.keys(), ...got.keys()])) {
      if (!isDeepStrictEqual(want.get(key), got.get(key))) problems.push(`${table} ${key}`);
    }
  }
  return problems.sort();
}

async function expectRollupsMatchRaw(db: AnalyticsDatabase, from: Date, to: Date): Promise<void> {
  expect(await rollupMismatches(db, from, to)).toEqual([]);
  const count = await db.dataSource!.query(
    `SELECT count(*)::int AS n FROM llm_usage_hourly WHERE hour >= $1 AND hour < $2`,
    [from, to],
  );
  expect(count[0].n).toBeGreaterThan(0);
}

async function state(db: AnalyticsDatabase): Promise<Date | null> {
  const rows = await db.dataSource!.query(
    `SELECT last_closed_hour FROM analytics_aggregation_state`,
  );
  return rows[0]?.last_closed_hour ?? null;
}

describeEachDatabase('HourlyAggregator', (kind) => {
  let provisioned: ProvisionedDatabase;
  let database: AnalyticsDatabase;
  let registry: Registry;
  let clock = at(C1, 10);

  const open = async () => {
    const db = new AnalyticsDatabase({ ...provisioned, runMigrations: true, poolSize: 3 });
    await db.open();
    return db;
  };
  const aggregatorOn = (db: AnalyticsDatabase) => {
    registry = new Registry();
    return new HourlyAggregator(
      db,
      { intervalSeconds: 3600, lookbackHours: 3, chunkHours: 6, now: () => clock },
      new AnalyticsMetrics(registry, 'magure_'),
    );
  };

  beforeAll(async () => {
    provisioned = await provisionDatabase(kind);
    database = await open();
    await generate(database);
  });

  afterAll(async () => {
    await database?.close();
    await provisioned?.cleanup();
  });

  it('builds rollups equal to the raw rows, for closed hours only, across days, late rows and a restart', async () => {
    // First run: catches up from the oldest raw row, in chunks, up to the last closed hour.
    const first = aggregatorOn(database);
    const r1 = await first.run();
    expect(r1).toMatchObject({ status: 'completed', hoursAggregated: 100 + C1 });
    expect(await state(database)).toEqual(at(C1 - 1));
    await expectRollupsMatchRaw(database, DATA_FROM, at(C1));
    const openHours = await database.dataSource!.query(
      `SELECT count(*)::int AS n FROM llm_usage_hourly WHERE hour >= $1`,
      [at(C1)],
    );
    expect(openHours).toEqual([{ n: 0 }]);

    // Rows written late: two hours back (inside the 3-hour look-back) and ten hours back (outside).
    await insertLateRows(database, 'late-agent', at(C1 - 2), 40);
    await insertLateRows(database, 'very-late-agent', at(C1 - 10), 25);

    clock = at(C1 + 1, 5);
    const r2 = await first.run();
    expect(r2).toMatchObject({ status: 'completed', hoursAggregated: 3, lastClosedHour: at(C1) });
    const late = await database.dataSource!.query(
      `SELECT hour, calls::int AS calls, cost_cents::text AS cost FROM llm_usage_hourly WHERE agent_id = 'late-agent'`,
    );
    expect(late).toEqual([{ hour: at(C1 - 2), calls: 40, cost: '0.060000000' }]);
    const veryLate = await database.dataSource!.query(
      `SELECT count(*)::int AS n FROM llm_usage_hourly WHERE agent_id = 'very-late-agent'`,
    );
    expect(veryLate).toEqual([{ n: 0 }]);

    // Restart after 39 hours down: a new connection and aggregator catch up every missed hour.
    await first.stop();
    await database.close();
    database = await open();
    clock = at(0, 5);
    const second = aggregatorOn(database);
    const r3 = await second.run();
    expect(r3).toMatchObject({
      status: 'completed',
      hoursAggregated: -(C1 + 1),
      lastClosedHour: at(-1),
    });
    await expectRollupsMatchRaw(database, at(C1 - 9), at(0));

    // Rows later than the look-back are counted once their hours are rebuilt explicitly.
    const stale = await rollupMismatches(database, DATA_FROM, at(0));
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.every((key) => key.includes(at(C1 - 10).toISOString()))).toBe(true);
    expect(await second.rebuild(at(C1 - 10, 30), at(C1 - 10, 31))).toBe(1);
    await expectRollupsMatchRaw(database, DATA_FROM, at(0));

    // Running again changes nothing.
    const snapshot = await actualRollups(database.dataSource!, DATA_FROM, at(0));
    const r4 = await second.run();
    expect(r4).toMatchObject({ status: 'completed', hoursAggregated: 3 });
    expect(await actualRollups(database.dataSource!, DATA_FROM, at(0))).toEqual(snapshot);

    const metrics = await registry.getSingleMetricAsString(
      'magure_analytics_aggregation_runs_total',
    );
    expect(metrics).toContain('magure_analytics_aggregation_runs_total{result="completed"} 2');
    const lastHour = await registry.getSingleMetricAsString(
      'magure_analytics_aggregation_last_closed_hour_timestamp_seconds',
    );
    expect(lastHour).toContain(` ${at(-1).getTime() / 1000}`);
    await second.stop();
  });

  it('sums fractional costs exactly (10,000 rows of 0.0015 cents make 15 cents)', async () => {
    const hour = at(-3);
    await database.dataSource!.query(
      `INSERT INTO llm_usage (timestamp, agent_id, provider, model, prompt_tokens, completion_tokens, cost_cents, latency_ms, success)
       SELECT $1::timestamptz + i * interval '300 milliseconds', 'exact-agent', 'openai', 'gpt-4o-mini', 100, 0, 0.0015, 5, true
       FROM generate_series(1, 10000) AS i`,
      [hour],
    );
    const aggregator = aggregatorOn(database);
    await aggregator.rebuild(hour, at(-2));
    const [raw] = await database.dataSource!.query(
      `SELECT sum(cost_cents)::text AS s FROM llm_usage WHERE agent_id = 'exact-agent'`,
    );
    const [rollup] = await database.dataSource!.query(
      `SELECT sum(cost_cents)::text AS s FROM llm_usage_hourly WHERE agent_id = 'exact-agent'`,
    );
    expect(raw.s).toBe('15.000000000');
    expect(rollup.s).toBe('15.000000000');
  });
});
