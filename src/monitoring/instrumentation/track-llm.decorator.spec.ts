import 'reflect-metadata';
import { startTestRuntime } from '../../../test/support/event-capture';
import { TrackAgent } from './track-agent.decorator';
import { TrackLLM } from './track-llm.decorator';
import { TrackTool } from './track-tool.decorator';
import { TrackWorkflow } from './track-workflow.decorator';

abstract class BaseLlmProvider {
  abstract readonly provider: string;
  @TrackLLM()
  complete(request: { model: string; fail?: boolean }): Promise<unknown> {
    return this.send(request);
  }
  @TrackLLM()
  stream(request: { model: string }): AsyncIterable<unknown> {
    return this.sendStream(request);
  }
  protected abstract send(request: { model: string; fail?: boolean }): Promise<unknown>;
  protected abstract sendStream(request: { model: string }): AsyncIterable<unknown>;
}

class OpenAiLike extends BaseLlmProvider {
  readonly provider: string = 'openai';
  protected async send(request: { model: string; fail?: boolean }) {
    if (request.fail) throw Object.assign(new Error('rate limited'), { name: 'RateLimitError' });
    return { model: `${request.model}-2024-08-06`, usage: { prompt_tokens: 1000, completion_tokens: 500, prompt_tokens_details: { cached_tokens: 200 } } };
  }
  protected async *sendStream(request: { model: string }) {
    yield { object: 'chat.completion.chunk', model: request.model, choices: [{ delta: { content: 'a' } }], usage: null };
    yield { object: 'chat.completion.chunk', model: request.model, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20 } };
  }
}

class AnthropicLike extends BaseLlmProvider {
  readonly provider = 'anthropic';
  protected async send() {
    return { type: 'message', model: 'claude-3-haiku-20240307', usage: { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 0 } };
  }
  protected async *sendStream() {
    yield { type: 'message_start', message: { model: 'claude-3-5-sonnet-20241022', usage: { input_tokens: 30, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } } };
    yield { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } };
    yield { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 15 } };
    yield { type: 'message_delta', delta: {}, usage: { output_tokens: 40 } };
    yield { type: 'message_stop' };
  }
}

class Agent {
  constructor(
    readonly id: string,
    private readonly llm: BaseLlmProvider,
  ) {}
  readonly type = 'rag';
  @TrackAgent()
  async execute(): Promise<void> {
    await new Tools().invoke('search');
    await this.llm.complete({ model: 'gpt-4o' });
    for await (const _ of this.llm.stream({ model: 'gpt-4o-mini' })) void _;
  }
}

class Tools {
  @TrackTool()
  async invoke(name: string, fail = false) {
    if (fail) throw new Error(`tool ${name} failed`);
    return name;
  }
}

class Executor {
  @TrackWorkflow()
  async run(definition: { id: string; runId: string; agents: Agent[]; toolFails?: boolean }) {
    for (const agent of definition.agents) await agent.execute();
    await new Tools().invoke('notify', definition.toolFails).catch(() => undefined);
    return 'ok';
  }
}

describe('@TrackLLM', () => {
  let ctx: ReturnType<typeof startTestRuntime>;
  beforeEach(() => {
    ctx = startTestRuntime();
  });
  afterEach(() => ctx.stop());

  it('reads OpenAI usage, labels the requested model and prices cached tokens', async () => {
    await new OpenAiLike().complete({ model: 'gpt-4o' });
    const [e] = ctx.sink.ofKind('llm_call');
    expect(e).toMatchObject({ provider: 'openai', model: 'gpt-4o', success: true, streamed: false });
    expect(e!.usage).toEqual({ inputTokens: 1000, outputTokens: 500, cachedInputTokens: 200, cacheWriteInputTokens: 0, reasoningTokens: 0 });
    // 800 plain input at 0.25 + 200 cached at 0.125 + 500 output at 1.0 (cents / 1K tokens)
    expect(e!.costNanoCents).toBe((800 * 0.25 + 200 * 0.125 + 500 * 1.0) * 1e6);
  });

  it('reads Anthropic usage: cache reads are part of the input', async () => {
    await new AnthropicLike().complete({ model: 'claude-3-haiku-20240307' });
    const [e] = ctx.sink.ofKind('llm_call');
    expect(e!.usage).toMatchObject({ inputTokens: 1100, outputTokens: 10, cachedInputTokens: 1000 });
    expect(e!.costNanoCents).toBe(100 * 25_000 + 1000 * 3_000 + 10 * 125_000);
  });

  it('accumulates OpenAI streams from the final usage chunk', async () => {
    const items = [];
    for await (const chunk of new OpenAiLike().stream({ model: 'gpt-4o-mini' })) items.push(chunk);
    expect(items).toHaveLength(2);
    const [e] = ctx.sink.ofKind('llm_call');
    expect(e).toMatchObject({ streamed: true, model: 'gpt-4o-mini', usage: { inputTokens: 10, outputTokens: 20 } });
    expect(e!.timeToFirstChunkMs).toBeGreaterThanOrEqual(0);
  });

  it('does not double count Anthropic cumulative message_delta usage', async () => {
    for await (const _ of new AnthropicLike().stream({ model: 'claude-3-5-sonnet' })) void _;
    const [e] = ctx.sink.ofKind('llm_call');
    expect(e!.usage).toMatchObject({ inputTokens: 30, outputTokens: 40 });
  });

  it('records failures with the error type and no usage', async () => {
    await expect(new OpenAiLike().complete({ model: 'gpt-4o', fail: true })).rejects.toThrow('rate limited');
    const [e] = ctx.sink.ofKind('llm_call');
    expect(e).toMatchObject({ success: false, usage: null, costNanoCents: null, error: { type: 'Error', message: 'rate limited' } });
  });

  it('records unknown models with an unknown cost, not zero', async () => {
    class Custom extends OpenAiLike {
      override readonly provider = 'acme-llm';
    }
    await new Custom().complete({ model: 'acme-mega-1' });
    expect(ctx.sink.ofKind('llm_call')[0]!.costNanoCents).toBeNull();
  });
});

describe('context attribution across nested scopes', () => {
  let ctx: ReturnType<typeof startTestRuntime>;
  beforeEach(() => {
    ctx = startTestRuntime();
  });
  afterEach(() => ctx.stop());

  it('attributes LLM and tool calls to the agent and workflow, and sums them up', async () => {
    const llm = new OpenAiLike();
    await new Executor().run({ id: 'wf-1', runId: 'run-1', agents: [new Agent('a1', llm), new Agent('a2', llm)], toolFails: true });

    const llmCalls = ctx.sink.ofKind('llm_call');
    expect(llmCalls).toHaveLength(4);
    expect(llmCalls.map((e) => [e.context.agentId, e.context.workflowId, e.context.workflowRunId])).toEqual([
      ['a1', 'wf-1', 'run-1'],
      ['a1', 'wf-1', 'run-1'],
      ['a2', 'wf-1', 'run-1'],
      ['a2', 'wf-1', 'run-1'],
    ]);
    const agents = ctx.sink.ofKind('agent_execution');
    expect(agents.map((a) => [a.agentId, a.agentType, a.llmCallsCount, a.toolCallsCount, a.tokensUsed])).toEqual([
      ['a1', 'rag', 2, 1, 1500 + 30],
      ['a2', 'rag', 2, 1, 1500 + 30],
    ]);
    const tools = ctx.sink.ofKind('tool_call');
    expect(tools.map((t) => [t.toolName, t.agentId, t.success])).toEqual([
      ['search', 'a1', true],
      ['search', 'a2', true],
      ['notify', undefined, false],
    ]);
    const [wf] = ctx.sink.ofKind('workflow_run');
    // two agents and one direct tool call are steps; the failed tool is a failed step
    expect(wf).toMatchObject({ workflowId: 'wf-1', runId: 'run-1', status: 'completed', stepsExecuted: 3, stepsFailed: 1, llmCallsCount: 4, tokensUsed: 3060 });
    expect(wf!.costNanoCents).toBe(agents[0]!.costNanoCents + agents[1]!.costNanoCents);
    expect(ctx.sink.starts).toEqual([{ kind: 'workflow_run', workflowId: 'wf-1' }]);
    expect(ctx.sink.ends).toEqual(ctx.sink.starts);
  });

  it('classifies timeouts and honours the status a workflow returns', async () => {
    class Timeouts {
      @TrackWorkflow({ workflowId: 'slow' })
      async run(): Promise<never> {
        throw Object.assign(new Error('took too long'), { name: 'TimeoutError' });
      }
      @TrackWorkflow({ workflowId: 'soft-fail' })
      async soft() {
        return { status: 'failed', stepsExecuted: 5, stepsFailed: 2 };
      }
    }
    await expect(new Timeouts().run()).rejects.toThrow('took too long');
    await new Timeouts().soft();
    expect(ctx.sink.ofKind('workflow_run').map((w) => [w.workflowId, w.status, w.stepsExecuted, w.stepsFailed])).toEqual([
      ['slow', 'timeout', 0, 0],
      ['soft-fail', 'failed', 5, 2],
    ]);
  });
});
