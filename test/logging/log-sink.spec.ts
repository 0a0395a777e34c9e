import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { LlmCallEvent, ToolCallEvent } from '../../src/monitoring';
import { LogSink, type LogLineOutput } from '../../src/monitoring/logging/log.sink';
import { SecretKeyMatcher } from '../../src/monitoring/logging/secret-redaction';

const llm = (n: number): LlmCallEvent => ({
  kind: 'llm_call',
  startedAt: new Date(),
  durationMs: 12.3456789,
  context: { requestId: `r-${n}` },
  success: true,
  provider: 'openai',
  model: 'gpt-4o',
  usage: {
    inputTokens: 10,
    outputTokens: 5,
    cachedInputTokens: 4,
    cacheWriteInputTokens: 0,
    reasoningTokens: 2,
  },
  costNanoCents: 1_500_000,
  streamed: false,
});

class MemoryOutput implements LogLineOutput {
  writes: string[][] = [];
  hooks: (() => void)[] = [];
  level = 30;
  isLevelEnabled(level: string): boolean {
    return (
      (
        { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as Record<string, number>
      )[level]! >= this.level
    );
  }
  writeLines(lines: readonly string[]): void {
    this.writes.push([...lines]);
  }
  beforeApplicationLine(flush: () => void): void {
    this.hooks.push(flush);
  }
  get lines(): Record<string, unknown>[] {
    return this.writes.flat().map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

describe('LogSink', () => {
  const options = { logPrompts: false, logPromptMaxLength: 1000 };

  it('queues on the caller stack and writes the queued lines together right after the tick', async () => {
    const out = new MemoryOutput();
    const sink = new LogSink(out, options, new SecretKeyMatcher());
    sink.record(llm(1));
    sink.record(llm(2));
    expect(out.writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.writes).toHaveLength(1);
    expect(out.lines.map((l) => l.request_id)).toEqual(['r-1', 'r-2']);
    expect(out.writes[0]!.every((l) => l.endsWith('}\n'))).toBe(true);
    expect(out.lines[0]).toMatchObject({
      latency_ms: 12.346,
      cost_cents: 0.0015,
      cached_prompt_tokens: 4,
      reasoning_tokens: 2,
    });
  });

  it('writes at once when 512 lines wait, so the queue stays bounded', () => {
    const out = new MemoryOutput();
    const sink = new LogSink(out, options, new SecretKeyMatcher());
    for (let i = 0; i < 512; i++) sink.record(llm(i));
    expect(out.writes).toHaveLength(1);
    expect(out.writes[0]).toHaveLength(512);
  });

  it('writes queued lines before an application line, keeping the order of lines', () => {
    const out = new MemoryOutput();
    const sink = new LogSink(out, options, new SecretKeyMatcher());
    sink.record(llm(1));
    for (const hook of out.hooks) hook(); // what the pipeline does before each application line
    expect(out.lines.map((l) => l.request_id)).toEqual(['r-1']);
  });

  it('dates each line when the event was recorded, not when it is written', async () => {
    const out = new MemoryOutput();
    const sink = new LogSink(out, options, new SecretKeyMatcher());
    const before = Date.now();
    sink.record(llm(1));
    const after = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 30));
    sink.flush();
    const t = Date.parse(String(out.lines[0]!.timestamp));
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it('does not queue events below the level, and reports a line it cannot write instead of throwing', () => {
    const out = new MemoryOutput();
    out.level = 50;
    const errors: unknown[] = [];
    const sink = new LogSink(out, options, new SecretKeyMatcher(), (e) => errors.push(e));
    sink.record(llm(1));
    sink.flush();
    expect(out.writes).toEqual([]);

    const broken: ToolCallEvent = {
      kind: 'tool_call',
      startedAt: new Date(),
      durationMs: 1,
      context: {},
      success: false,
      toolName: 't',
      error: { type: 'Error', message: 'x' },
      attributes: {
        get explode(): string {
          throw new Error('getter failed');
        },
      },
    };
    sink.record(broken);
    sink.record({ ...broken, attributes: { ok: 1 } });
    expect(() => sink.flush()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(out.lines).toMatchObject([{ event: 'tool_call_failed', ok: 1 }]);
  });

  it('writes queued lines when the process exits without shutting down', () => {
    // A child process records an event and calls process.exit() in the same tick.
    const script = `
      const { LogPipeline } = require('./src/monitoring/logging/log-pipeline');
      const { LogSink } = require('./src/monitoring/logging/log.sink');
      const { resolveMonitoringOptions } = require('./src/monitoring/monitoring-options.resolver');
      const options = resolveMonitoringOptions({ recentLogsBufferSize: 0 }, {});
      const pipeline = new LogPipeline(options);
      const sink = new LogSink(pipeline, options, pipeline.secrets);
      sink.record(${JSON.stringify(llm(7))});
      process.exit(0);
    `;
    const root = join(__dirname, '..', '..');
    const stdout = execFileSync(
      process.execPath,
      ['-r', join(root, 'src/monitoring/logging/typescript-worker-loader.cjs'), '-e', script],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    const lines = stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([{ event: 'llm_call_completed', request_id: 'r-7' }]);
  });
});
