import type { MonitoringEvent } from '../../events/monitoring-event';
import { mapEventToRow } from './analytics-row.mapper';
import { TABLE_COLUMNS, batchInsertSql, columnArrays } from './analytics-tables';

const startedAt = new Date('2026-03-01T10:15:00.000Z');

function named(event: MonitoringEvent): Record<string, unknown> {
  const mapped = mapEventToRow(event)!;
  const columns = TABLE_COLUMNS[mapped.table];
  expect(mapped.row).toHaveLength(columns.length);
  return Object.fromEntries(columns.map((c, i) => [c.name, mapped.row[i]]));
}

describe('mapEventToRow', () => {
  it('maps an LLM call to an llm_usage row with the exact cost as a decimal string', () => {
    const row = named({
      kind: 'llm_call',
      startedAt,
      durationMs: 1234.6,
      context: {
        requestId: 'r1',
        agentId: 'a1',
        workflowId: 'w1',
        workflowRunId: 'run1',
        userId: 'u1',
        tenantId: 't1',
        sessionId: 's1',
      },
      success: true,
      provider: 'openai',
      model: 'gpt-4o-mini',
      usage: {
        inputTokens: 100,
        outputTokens: 20,
        cachedInputTokens: 10,
        cacheWriteInputTokens: 0,
        reasoningTokens: 5,
      },
      costNanoCents: 2_700_000,
      streamed: true,
      timeToFirstChunkMs: 87.2,
      attributes: { feature: 'search' },
    });
    expect(row).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      // Unix ms: each writer converts it (no date is formatted per row).
      timestamp: Date.parse('2026-03-01T10:15:00.000Z'),
      request_id: 'r1',
      agent_id: 'a1',
      workflow_id: 'w1',
      workflow_run_id: 'run1',
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt_tokens: 100,
      completion_tokens: 20,
      cached_tokens: 10,
      cache_write_tokens: 0,
      reasoning_tokens: 5,
      cost_cents: '0.0027',
      latency_ms: 1235,
      time_to_first_chunk_ms: 87,
      parent_span_id: null,
      trace_id: null,
      error_message: null,
      success: true,
      error_type: null,
      streamed: true,
      user_id: 'u1',
      tenant_id: 't1',
      session_id: 's1',
      attributes: '{"feature":"search"}',
      usage_missing: false,
    });
  });

  it('marks a successful call without usage as usage missing (not a failed call, not an unpriced one)', () => {
    const base = { kind: 'llm_call' as const, startedAt, durationMs: 5, context: {}, provider: 'openai', model: 'gpt-4o', costNanoCents: null, streamed: true };
    expect(named({ ...base, success: true, usage: null })).toMatchObject({ usage_missing: true, prompt_tokens: 0, cost_cents: null });
    expect(named({ ...base, success: false, usage: null })).toMatchObject({ usage_missing: false });
    const usage = { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 };
    expect(named({ ...base, success: true, usage })).toMatchObject({ usage_missing: false, cost_cents: null });
  });

  it('stores an unpriced call with NULL cost and a failure with its error type', () => {
    const row = named({
      kind: 'llm_call',
      startedAt,
      durationMs: 5,
      context: {},
      success: false,
      provider: 'acme',
      model: 'unknown-model',
      usage: null,
      costNanoCents: null,
      streamed: false,
      error: { type: 'RateLimitError', message: 'slow down' },
    });
    expect(row).toMatchObject({
      cost_cents: null,
      prompt_tokens: 0,
      success: false,
      error_type: 'RateLimitError',
      agent_id: null,
    });
  });

  it('maps agent executions and workflow runs (finished_at = start + duration)', () => {
    expect(
      named({
        kind: 'agent_execution',
        startedAt,
        durationMs: 10,
        context: { workflowId: 'w', tenantId: 't' },
        success: true,
        agentId: 'agent',
        agentType: 'rag',
        llmCallsCount: 2,
        toolCallsCount: 1,
        tokensUsed: 240,
        costNanoCents: 5_400_000,
      }),
    ).toMatchObject({
      agent_id: 'agent',
      agent_type: 'rag',
      latency_ms: 10,
      cost_cents: '0.0054',
      workflow_id: 'w',
      tenant_id: 't',
    });
    expect(
      named({
        kind: 'workflow_run',
        startedAt,
        durationMs: 60_000,
        context: {},
        workflowId: 'wf',
        runId: 'run-9',
        status: 'timeout',
        stepsExecuted: 3,
        stepsFailed: 1,
        llmCallsCount: 4,
        tokensUsed: 99,
        costNanoCents: 0,
      }),
    ).toMatchObject({
      status: 'timeout',
      started_at: Date.parse('2026-03-01T10:15:00.000Z'),
      finished_at: Date.parse('2026-03-01T10:16:00.000Z'),
      duration_ms: 60_000,
      cost_cents: '0',
    });
  });

  it('maps a tool call to a tool_calls row whose id is its span id', () => {
    const spanId = '0190c5f0-0000-7000-8000-0000000000aa';
    const parentSpanId = '0190c5f0-0000-7000-8000-0000000000bb';
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    expect(
      named({
        kind: 'tool_call',
        spanId,
        parentSpanId,
        startedAt,
        durationMs: 3.4,
        context: { traceId, requestId: 'r1', agentId: 'a1' },
        success: false,
        toolName: 'search',
        error: { type: 'TypeError', message: 'bad input' },
        inputSize: 12,
        outputSize: 0,
      }),
    ).toMatchObject({
      id: spanId,
      parent_span_id: parentSpanId,
      trace_id: traceId,
      tool_name: 'search',
      agent_id: 'a1',
      success: false,
      latency_ms: 3,
      error_type: 'TypeError',
      error_message: 'bad input',
      input_size: 12,
      output_size: 0,
      input: null,
      output: null,
      request_id: 'r1',
    });
  });

  it('keeps well-formed ids from users\' events and replaces malformed ones (a new row id, no parent, no trace)', () => {
    const ids = (spanId: string, parentSpanId: string, traceId: string) => {
      const row = named({
        kind: 'tool_call',
        spanId,
        parentSpanId,
        startedAt,
        durationMs: 1,
        context: { traceId },
        success: true,
        toolName: 'search',
      });
      return [row.id, row.parent_span_id, row.trace_id];
    };
    // Either case for UUIDs (what PostgreSQL's uuid accepts); lower case only for W3C trace ids.
    expect(
      ids('0190C5F0-0000-7000-8000-0000000000AA', '0190c5f0-0000-7000-8000-0000000000bb', '4bf92f3577b34da6a3ce929d0e0e4736'),
    ).toEqual(['0190C5F0-0000-7000-8000-0000000000AA', '0190c5f0-0000-7000-8000-0000000000bb', '4bf92f3577b34da6a3ce929d0e0e4736']);
    for (const [spanId, parentSpanId, traceId] of [
      ['0190c5f00-000-7000-8000-0000000000aa', '0190c5f0-0000-7000-8000-0000000000b', '4BF92F3577B34DA6A3CE929D0E0E4736'],
      ['0190c5f0-0000-7000-8000-0000000000ag', '0190c5f0-0000-7000-8000-0000000000bb ', '4bf92f3577b34da6a3ce929d0e0e473'],
      ['0190c5f0-0000-7000-8000-0000000000a\u00e9', '0190c5f0+0000-7000-8000-0000000000bb', '4bf92f3577b34da6a3ce929d0e0e473g'],
    ]) {
      const [id, parent, trace] = ids(spanId!, parentSpanId!, traceId!);
      expect(id).not.toBe(spanId);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect([parent, trace]).toEqual([null, null]);
    }
  });

  it('ignores events that are not stored in PostgreSQL', () => {
    expect(
      mapEventToRow({
        kind: 'http_request',
        startedAt,
        durationMs: 1,
        context: {},
        method: 'GET',
        route: '/x',
        path: '/x',
        statusCode: 200,
        aborted: false,
      }),
    ).toBeNull();
  });
});

describe('batch INSERT', () => {
  it('binds one array per column, whatever the batch size', () => {
    const sql = batchInsertSql('workflow_analytics');
    expect(sql).toMatch(/^INSERT INTO "workflow_analytics" \("id", "workflow_id", /);
    expect(sql).toContain('SELECT * FROM unnest($1::uuid[], $2::text[]');
    expect(sql).toContain('$17::jsonb[]');
    expect(sql).toMatch(/ON CONFLICT DO NOTHING$/);
    const row = (id: string, text: string | null, n: number | null, b: boolean): unknown[] => {
      const r = new Array<unknown>(TABLE_COLUMNS.workflow_analytics.length).fill(null);
      r[0] = id;
      r[1] = text;
      r[4] = n;
      return Object.assign(r, { 16: b ? '{"ok":true}' : null });
    };
    const arrays = columnArrays('workflow_analytics', [
      row('0190c5f0-0000-7000-8000-000000000001', 'plain', 12, true),
      row(
        '0190c5f0-0000-7000-8000-000000000002',
        'quote " and \\ backslash, comma {brace} NULL',
        null,
        false,
      ),
    ]);
    expect(arrays).toHaveLength(TABLE_COLUMNS.workflow_analytics.length);
    expect(arrays[0]).toBe(
      '{0190c5f0-0000-7000-8000-000000000001,0190c5f0-0000-7000-8000-000000000002}',
    );
    expect(arrays[1]).toBe('{"plain","quote \\" and \\\\ backslash, comma {brace} NULL"}');
    expect(arrays[4]).toBe('{12,NULL}');
    expect(arrays[16]).toBe('{"{\\"ok\\":true}",NULL}');
  });

  it('sends times as ISO 8601 text, from Unix ms and from the text of rows journaled by earlier versions', () => {
    const columns = TABLE_COLUMNS.workflow_analytics;
    const at = (name: string) => columns.findIndex((c) => c.name === name);
    const row = (started: unknown, finished: unknown): unknown[] => {
      const r = new Array<unknown>(columns.length).fill(null);
      r[at('started_at')] = started;
      r[at('finished_at')] = finished;
      return r;
    };
    const arrays = columnArrays('workflow_analytics', [
      row(Date.parse('2026-03-01T10:15:00.001Z'), -1),
      row('2026-03-01T10:15:00.002Z', null),
    ]);
    expect(arrays[at('started_at')]).toBe('{2026-03-01T10:15:00.001Z,2026-03-01T10:15:00.002Z}');
    expect(arrays[at('finished_at')]).toBe('{1969-12-31T23:59:59.999Z,NULL}');
  });
});
