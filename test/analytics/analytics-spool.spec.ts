import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsSpool, type AnalyticsSpoolSettings } from '../../src/monitoring/analytics/ingest/analytics-spool';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import type { AgentExecutionEvent, LlmCallEvent } from '../../src/monitoring/events/monitoring-event';
import { uuidV7 } from '../../src/monitoring/tracing/uuid-v7';

const dir = () => mkdtempSync(join(tmpdir(), 'mon-spool-unit-'));
const settings = (d: string, more: Partial<AnalyticsSpoolSettings> = {}): AnalyticsSpoolSettings => ({
  dir: d,
  maxBytes: 1024 * 1024,
  fsync: 'interval',
  fsyncIntervalMs: 1000,
  ...more,
});
const files = (d: string) => readdirSync(d).filter((f) => f.endsWith('.jsonl')).sort();

describe('AnalyticsSpool', () => {
  it('keeps journal rows still outstanding at close for the next process, which reads them back', () => {
    const d = dir();
    const spool = new AnalyticsSpool(settings(d));
    spool.open();
    const id = spool.append('journal', [
      ['llm_usage', ['0190a000-0000-7000-8000-000000000001', 'a "quoted" \\ value', 3, true, null]],
      ['workflow_analytics', ['0190a000-0000-7000-8000-000000000002']],
    ])!;
    spool.release(id, 1);
    spool.close();
    expect(files(d)).toEqual(['journal-000000000001.jsonl']);

    const next = new AnalyticsSpool(settings(d));
    next.open();
    expect(next.replayable()).toEqual([1]);
    expect(next.read(1)).toEqual({
      rows: [
        ['llm_usage', ['0190a000-0000-7000-8000-000000000001', 'a "quoted" \\ value', 3, true, null]],
        ['workflow_analytics', ['0190a000-0000-7000-8000-000000000002']],
      ],
      damaged: 0,
    });
    next.remove(1);
    expect(files(d)).toEqual([]);
    next.close();
  });

  it('deletes a journal segment once every row of it is confirmed', () => {
    const d = dir();
    const spool = new AnalyticsSpool(settings(d));
    spool.open();
    const id = spool.append('journal', [['llm_usage', ['a']], ['llm_usage', ['b']]])!;
    expect(files(d)).toHaveLength(1);
    spool.release(id, 2);
    expect(files(d)).toEqual([]);
    expect(spool.bytes).toBe(0);
    spool.close();
  });

  it('skips a last line cut short by a crash and counts it as damaged', () => {
    const d = dir();
    const spool = new AnalyticsSpool(settings(d));
    spool.open();
    spool.append('overflow', [['agent_executions', ['x']]]);
    spool.close();
    appendFileSync(join(d, files(d)[0]!), '["agent_executions",["y"');
    const next = new AnalyticsSpool(settings(d));
    next.open();
    const [id] = next.replayable();
    expect(next.read(id!)).toEqual({ rows: [['agent_executions', ['x']]], damaged: 1 });
    next.close();
  });

  it('refuses rows beyond maxBytes (nothing is written)', () => {
    const d = dir();
    const spool = new AnalyticsSpool(settings(d, { maxBytes: 1024 }));
    spool.open();
    const row = ['x'.repeat(400)];
    expect(spool.append('overflow', [['llm_usage', row]])).toBe(1);
    expect(spool.append('overflow', [['llm_usage', row]])).toBe(1);
    expect(spool.append('overflow', [['llm_usage', row]])).toBeUndefined();
    expect(spool.bytes).toBeLessThanOrEqual(1024);
    spool.close();
  });

  it('one process per directory: refused while another live process or app holds it, taken over from a dead one', async () => {
    const d = dir();
    const first = new AnalyticsSpool(settings(d));
    first.open();
    expect(() => new AnalyticsSpool(settings(d)).open()).toThrow(/in use by another application in this process/);
    first.close();

    const other = spawn('sleep', ['5']);
    try {
      writeFileSync(join(d, 'spool.lock'), String(other.pid));
      expect(() => new AnalyticsSpool(settings(d)).open()).toThrow(`is in use by process ${other.pid}`);
    } finally {
      other.kill();
      await new Promise((r) => other.once('exit', r));
    }
    const after = new AnalyticsSpool(settings(d));
    expect(() => after.open()).not.toThrow();
    after.close();
  });
});

describe('AnalyticsWriteQueue journal', () => {
  const llmCall = (requestId: string): LlmCallEvent => ({
    kind: 'llm_call',
    spanId: uuidV7(),
    startedAt: new Date(),
    durationMs: 3,
    context: { requestId },
    success: true,
    provider: 'openai',
    model: 'gpt-4o-mini',
    usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 },
    costNanoCents: 2_700_000,
    streamed: false,
  });
  const agentRun = (requestId: string): AgentExecutionEvent => ({
    kind: 'agent_execution',
    spanId: uuidV7(),
    startedAt: new Date(),
    durationMs: 4,
    context: { requestId },
    success: true,
    agentId: 'chat-agent',
    agentType: 'llm',
    llmCallsCount: 1,
    toolCallsCount: 0,
    tokensUsed: 15,
    costNanoCents: 2_700_000,
  });
  const journalLines = (d: string) =>
    files(d)
      .filter((f) => f.startsWith('journal-'))
      .flatMap((f) => readFileSync(join(d, f), 'utf8').split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as [string, unknown[]]);

  it('journals every row recorded in a turn of the event loop in one write, by the end of that turn', async () => {
    const d = dir();
    const spool = new AnalyticsSpool(settings(d));
    spool.open();
    const queue = new AnalyticsWriteQueue(
      // Never asked to write: the flush interval is longer than the test.
      { write: () => new Promise(() => undefined) },
      { capacity: 100, batchSize: 100, flushIntervalMs: 60_000 },
      new AnalyticsMetrics(new Registry(), 'magure_'),
      spool,
    );
    const writes = jest.spyOn(fs, 'writeSync');
    try {
      // Three requests finishing in the same turn (each in its own run of microtasks, as the
      // callbacks of three sockets read in one poll phase), two rows each.
      for (let i = 1; i <= 3; i++) {
        queue.enqueue('agent_executions', agentRun(`req-${i}`));
        queue.enqueue('llm_usage', llmCall(`req-${i}`));
        await Promise.resolve();
      }
      expect(writes).not.toHaveBeenCalled();
      // The check phase of this turn: one append for the six rows of both tables.
      await new Promise((resolve) => setImmediate(resolve));
      expect(writes).toHaveBeenCalledTimes(1);
      const lines = journalLines(d);
      expect(lines.map(([table, row]) => `${table} ${String(row[table === 'llm_usage' ? 2 : 10])}`)).toEqual([
        'llm_usage req-1',
        'llm_usage req-2',
        'llm_usage req-3',
        'agent_executions req-1',
        'agent_executions req-2',
        'agent_executions req-3',
      ]);
      // What a process killed now leaves: all six rows, for the next start.
      const copy = dir();
      for (const f of files(d)) fs.copyFileSync(join(d, f), join(copy, f));
      const next = new AnalyticsSpool(settings(copy));
      next.open();
      expect(next.replayable()).toEqual([1]);
      expect(next.read(1).rows).toHaveLength(6);
      next.close();
    } finally {
      writes.mockRestore();
      queue.stop();
      spool.close();
    }
  });
});
