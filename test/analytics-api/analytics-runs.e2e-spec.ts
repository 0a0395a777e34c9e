import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { MonitoringModule } from '../../src/monitoring';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { describeEachDatabase, provisionDatabase, type ProvisionedDatabase } from '../support/analytics-databases';
import { waitFor } from '../support/analytics-app';
import { RunsController, TRACED_WORKFLOW_PROVIDERS } from '../support/traced-workflow-app';

const GPT_4O_MINI_CENTS = '0.027000000'; // 1,000 × 0.015 ¢/1K + 200 × 0.06 ¢/1K
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Node {
  kind: string;
  name: string;
  id: string;
  parentId?: string;
  status: string;
  startOffsetMs: number;
  durationMs: number;
  errorType?: string;
  errorMessage?: string;
  tokens: { prompt: number; completion: number; total: number };
  cost: { cents: string };
  priced?: boolean;
  children: Node[];
}

/** `kind:name[status]` outline of a tree, children in order. */
function outline(node: Node): unknown {
  const head = `${node.kind}:${node.name}[${node.status}]`;
  return node.children.length ? { [head]: node.children.map(outline) } : head;
}

function walk(node: Node, visit: (n: Node, parent?: Node) => void, parent?: Node): void {
  visit(node, parent);
  for (const c of node.children) walk(c, visit, node);
}

describeEachDatabase('runs as traces: API', (kind) => {
  let db: ProvisionedDatabase;
  let app: INestApplication;
  let source: DataSource;
  const api = () => request(app.getHttpServer());

  beforeAll(async () => {
    db = await provisionDatabase(kind);
    @Module({
      imports: [
        MonitoringModule.forRoot({
          defaultMetricsEnabled: false,
          databaseUrl: db.databaseUrl,
          embeddedDatabaseDir: db.embeddedDatabaseDir,
          analyticsFlushIntervalMs: 20,
          logLevel: 'silent',
          priceCatalogueEnabled: false,
        }),
      ],
      controllers: [RunsController],
      providers: TRACED_WORKFLOW_PROVIDERS,
    })
    class RunsAppModule {}
    app = await NestFactory.create(RunsAppModule, { logger: false });
    await app.init();
    source = await app.get(AnalyticsDatabase).whenReady();
  });

  afterAll(async () => {
    await app?.close();
    await db?.cleanup();
  });

  const rowsOf = (table: string, where: string, params: unknown[]) =>
    source.query<Record<string, unknown>[]>(`SELECT * FROM ${table} WHERE ${where}`, params);

  async function runAudit(runId: string, mode: 'ok' | 'fail', headers: Record<string, string> = {}) {
    const res = await api().get(`/audit/${runId}/${mode}`).set('X-Request-Id', `req-${runId}`).set(headers);
    expect(res.status).toBe(200);
    // 1 workflow, 3 agents, 2 LLM calls, 2 tool calls.
    await waitFor(`rows of run ${runId}`, async () => {
      const [w] = await rowsOf('workflow_analytics', 'run_id = $1', [runId]);
      const tools = await rowsOf('tool_calls', 'request_id = $1', [`req-${runId}`]);
      const llm = await rowsOf('llm_usage', 'request_id = $1', [`req-${runId}`]);
      const agents = await rowsOf('agent_executions', 'request_id = $1', [`req-${runId}`]);
      return w && tools.length === 2 && llm.length === 2 && agents.length === 3 ? w : undefined;
    });
  }

  it('shows a failed nested workflow run as a tree: every agent, LLM call and tool, with timing, tokens, cost and the error', async () => {
    await runAudit('run-failed', 'fail');
    const [workflow] = await rowsOf('workflow_analytics', 'run_id = $1', ['run-failed']);
    const list = await api().get('/api/analytics/runs?kind=workflow&workflow_id=invoice-audit');
    expect(list.status).toBe(200);
    const listed = list.body.runs.find((r: { runId?: string }) => r.runId === 'run-failed');
    expect(listed).toMatchObject({
      kind: 'workflow',
      id: workflow!.id,
      name: 'invoice-audit',
      status: 'failed',
      errorType: 'AuditError',
      errorMessage: 'totals do not match the ledger',
      llmCalls: 2,
      tokens: 1255,
      cost: { cents: GPT_4O_MINI_CENTS },
      requestId: 'req-run-failed',
    });

    const tree = await api().get(`/api/analytics/runs/${listed.id}`);
    expect(tree.status).toBe(200);
    const body = tree.body as { roots: Node[]; totals: Record<string, unknown>; traceId: string; status: string; durationMs: number };
    expect(body.roots).toHaveLength(1);
    expect(outline(body.roots[0]!)).toEqual({
      'workflow:invoice-audit[failed]': [
        { 'agent:extractor[completed]': ['tool:ocr[completed]', 'llm:openai/gpt-4o-mini[completed]'] },
        {
          'agent:auditor[failed]': [
            { 'agent:checker[completed]': ['llm:openai/house-model-7[completed]'] },
            'tool:lookup[failed]',
          ],
        },
      ],
    });
    const root = body.roots[0]!;
    expect(body.status).toBe('failed');
    expect(root.errorType).toBe('AuditError');
    expect(root.startOffsetMs).toBe(0);
    const auditor = root.children[1]!;
    expect(auditor).toMatchObject({ errorType: 'AuditError', errorMessage: 'totals do not match the ledger' });
    expect(auditor.children[1]).toMatchObject({ errorType: 'TypeError', errorMessage: 'lookup service refused the query' });
    const checkerCall = auditor.children[0]!.children[0]!;
    expect(checkerCall).toMatchObject({ priced: false, tokens: { prompt: 50, completion: 5, total: 55 }, cost: { cents: '0.000000000' } });
    expect(root.children[0]!.children[1]).toMatchObject({
      priced: true,
      tokens: { prompt: 1000, completion: 200, total: 1200 },
      cost: { cents: GPT_4O_MINI_CENTS },
    });
    walk(root, (n, parent) => {
      expect(n.id).toMatch(UUID);
      if (parent) {
        expect(n.parentId).toBe(parent.id);
        expect(n.startOffsetMs).toBeGreaterThanOrEqual(parent.startOffsetMs);
      }
      expect(n.durationMs).toBeGreaterThanOrEqual(0);
    });
    // Subtree sums on the inner nodes, totals over the whole run.
    expect(auditor.tokens).toEqual({ prompt: 50, completion: 5, total: 55 });
    expect(root.tokens).toEqual({ prompt: 1050, completion: 205, total: 1255 });
    expect(body.totals).toMatchObject({
      tokens: { prompt: 1050, completion: 205, total: 1255 },
      cost: { cents: GPT_4O_MINI_CENTS },
      llmCalls: 2,
      toolCalls: 2,
      agentRuns: 3,
      failedSteps: 2,
      unpricedCalls: 1,
    });

    // Every number equals the raw rows of the trace.
    const [sums] = await source.query(
      `SELECT sum(prompt_tokens)::int AS prompt, sum(completion_tokens)::int AS completion,
              sum(cost_cents)::text AS cents, count(*)::int AS calls
         FROM llm_usage WHERE trace_id = $1`,
      [body.traceId],
    );
    expect(sums).toEqual({ prompt: 1050, completion: 205, cents: GPT_4O_MINI_CENTS, calls: 2 });
    expect(body.durationMs).toBe(Number(workflow!.duration_ms));

    // The same tree by workflow run id, and as the request's tree.
    const byRunId = await api().get('/api/analytics/runs/run-failed');
    expect(byRunId.status).toBe(200);
    expect(byRunId.body.roots).toEqual(body.roots);
    const byRequest = await api().get('/api/analytics/requests/req-run-failed');
    expect(byRequest.status).toBe(200);
    expect(byRequest.body.roots).toEqual(body.roots);
    expect(byRequest.body.totals).toEqual(body.totals);
    expect(byRequest.body).toMatchObject({ requestId: 'req-run-failed', traceId: body.traceId, status: 'failed' });
  });

  it('keeps the trace id of an incoming traceparent in every row of the request', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await runAudit('run-traced', 'ok', { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    for (const table of ['workflow_analytics', 'agent_executions', 'llm_usage', 'tool_calls']) {
      const rows = await rowsOf(table, 'request_id = $1', ['req-run-traced']);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.trace_id).toBe(traceId);
    }
    const tree = await api().get('/api/analytics/requests/req-run-traced');
    expect(tree.body).toMatchObject({ traceId, status: 'completed' });
  });

  it('lists top-level agent runs (not the agents inside workflows or agents) a page at a time, newest first', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await api().get('/extract').set('X-Request-Id', `req-extract-${i}`);
      expect(res.status).toBe(200);
    }
    await waitFor('three extractor runs', async () =>
      (await rowsOf('agent_executions', `request_id LIKE 'req-extract-%'`, [])).length === 3 ? true : undefined,
    );
    const first = await api().get('/api/analytics/runs?kind=agent&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.runs.map((r: { requestId: string }) => r.requestId)).toEqual(['req-extract-2', 'req-extract-1']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api().get(`/api/analytics/runs?kind=agent&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.runs.map((r: { requestId: string }) => r.requestId)).toEqual(['req-extract-0']);
    expect(second.body.nextCursor).toBeUndefined();
    for (const run of [...first.body.runs, ...second.body.runs]) {
      expect(run).toMatchObject({ kind: 'agent', name: 'extractor', status: 'completed', llmCalls: 1, tokens: 1200 });
    }
    const all = await api().get('/api/analytics/runs?limit=1000');
    const names = all.body.runs.map((r: { kind: string; name: string }) => `${r.kind}:${r.name}`);
    expect(names).not.toContain('agent:checker');
    expect(names).not.toContain('agent:auditor');
    const failed = await api().get('/api/analytics/runs?status=failed');
    expect(failed.body.runs.map((r: { runId?: string }) => r.runId)).toEqual(['run-failed']);
  });

  it('answers 400 naming the parameter, and 404 for unknown runs and requests', async () => {
    const cases: [string, string][] = [
      ['/api/analytics/runs?limit=0', 'limit must be an integer from 1 to 1000'],
      ['/api/analytics/runs?kind=tool', 'kind must be one of: workflow, agent'],
      ['/api/analytics/runs?status=ok', 'status must be one of: completed, failed, timeout'],
      ['/api/analytics/runs?cursor=not-a-cursor!', 'cursor must be the nextCursor of a previous page'],
      ['/api/analytics/runs?cursor=bm90LWEtcmVhbC1jdXJzb3I', 'cursor must be the nextCursor of a previous page'],
      ['/api/analytics/runs?trace=1', 'property trace should not exist'],
      ['/api/analytics/runs?workflow_id=a&agent_id=b', 'workflow_id selects workflow runs and agent_id agent runs: give one of them'],
    ];
    for (const [url, message] of cases) {
      const res = await api().get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining(message) });
      expect(typeof res.body.message).toBe('string');
    }
    const missing = await api().get('/api/analytics/runs/01a24873-dd92-780e-8b31-3faac1b42707');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('no run with id 01a24873-dd92-780e-8b31-3faac1b42707');
    expect((await api().get('/api/analytics/requests/req-never')).status).toBe(404);
  });
});
