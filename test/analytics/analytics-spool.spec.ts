import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnalyticsSpool, type AnalyticsSpoolSettings } from '../../src/monitoring/analytics/ingest/analytics-spool';

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
