import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { TrackLLM } from '../../src/monitoring';
import { startTestRuntime } from '../support/event-capture';
import { startProviderServer, type ProviderServer } from '../support/llm-provider-server';

/** Providers written the way an application wraps the official SDKs: one decorated base method each. */
class OpenAiChatProvider {
  readonly provider = 'openai';
  constructor(private readonly client: OpenAI) {}
  @TrackLLM()
  complete(params: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming) {
    return this.client.chat.completions.create(params);
  }
  @TrackLLM()
  stream(params: OpenAI.Chat.ChatCompletionCreateParamsStreaming) {
    return this.client.chat.completions.create(params);
  }
}

type ChatStreamParams = Parameters<OpenAI['chat']['completions']['stream']>[0];
type ResponseStreamParams = Parameters<OpenAI['responses']['stream']>[0];

/** The SDKs' stream helpers, returned as they are from a tracked method (sync and async). */
class OpenAiHelperProvider {
  readonly provider = 'openai';
  constructor(private readonly client: OpenAI) {}
  @TrackLLM()
  chatStream(params: ChatStreamParams) {
    return this.client.chat.completions.stream(params);
  }
  @TrackLLM()
  responseStream(params: ResponseStreamParams) {
    return this.client.responses.stream(params);
  }
  @TrackLLM()
  async chatStreamLater(params: ChatStreamParams) {
    await Promise.resolve();
    return this.client.chat.completions.stream(params);
  }
}

class OpenAiResponsesProvider {
  readonly provider = 'openai';
  constructor(private readonly client: OpenAI) {}
  @TrackLLM()
  respond(params: OpenAI.Responses.ResponseCreateParamsNonStreaming) {
    return this.client.responses.create(params);
  }
  @TrackLLM()
  stream(params: OpenAI.Responses.ResponseCreateParamsStreaming) {
    return this.client.responses.create(params);
  }
}

class AnthropicProvider {
  readonly provider = 'anthropic';
  constructor(private readonly client: Anthropic) {}
  @TrackLLM()
  complete(params: Anthropic.MessageCreateParamsNonStreaming) {
    return this.client.messages.create(params);
  }
  @TrackLLM()
  stream(params: Anthropic.MessageCreateParamsStreaming) {
    return this.client.messages.create(params);
  }
  @TrackLLM()
  streamHelper(params: Anthropic.MessageStreamParams) {
    return this.client.messages.stream(params);
  }
}

describe('usage read from objects produced by the real openai and @anthropic-ai/sdk clients', () => {
  let server: ProviderServer;
  let ctx: ReturnType<typeof startTestRuntime>;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    server = await startProviderServer();
    openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.url, maxRetries: 0 });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    ctx = startTestRuntime();
  });
  afterEach(() => ctx.stop());

  const onlyCall = () => {
    const calls = ctx.sink.ofKind('llm_call');
    expect(calls).toHaveLength(1);
    return calls[0]!;
  };

  it('OpenAI Chat Completions: prompt, completion, cached and reasoning tokens', async () => {
    const res = await new OpenAiChatProvider(openai).complete({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]!.message.content).toBe('Hello!');
    const e = onlyCall();
    expect(e).toMatchObject({ provider: 'openai', model: 'gpt-4o', success: true, streamed: false });
    expect(e.usage).toEqual({ inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024, cacheWriteInputTokens: 0, reasoningTokens: 128 });
    expect(e.costNanoCents).toBe(176 * 250_000 + 1024 * 125_000 + 300 * 1_000_000);
  });

  it('OpenAI Chat Completions stream: usage from the final chunk, the SDK Stream keeps working', async () => {
    const stream = await new OpenAiChatProvider(openai).stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(stream.controller).toBeInstanceOf(AbortController); // SDK Stream API still reachable
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello!');
    const e = onlyCall();
    expect(e).toMatchObject({ streamed: true, model: 'gpt-4o-mini', usage: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024 } });
  });

  it('OpenAI Responses API, plain and streamed', async () => {
    const res = await new OpenAiResponsesProvider(openai).respond({ model: 'o1-preview', input: 'hi' });
    expect(res.output_text).toBe('Hi there');
    expect(onlyCall().usage).toEqual({ inputTokens: 800, outputTokens: 900, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 700 });
    ctx.sink.events.length = 0;
    const stream = await new OpenAiResponsesProvider(openai).stream({ model: 'o1-preview', input: 'hi', stream: true });
    for await (const _ of stream) void _;
    expect(onlyCall()).toMatchObject({ streamed: true, usage: { inputTokens: 800, outputTokens: 900, reasoningTokens: 700 } });
  });

  it('Anthropic Messages: cache read and cache creation tokens', async () => {
    const msg = await new AnthropicProvider(anthropic).complete({ model: 'claude-3-5-sonnet-20241022', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello!' });
    const e = onlyCall();
    expect(e.usage).toEqual({ inputTokens: 3050, outputTokens: 200, cachedInputTokens: 2000, cacheWriteInputTokens: 1000, reasoningTokens: 0 });
    // 50 plain at 0.3, 2000 read at 0.03, 1000 written at 0.375, 200 out at 1.5 (cents / 1K)
    expect(e.costNanoCents).toBe(50 * 300_000 + 2000 * 30_000 + 1000 * 375_000 + 200 * 1_500_000);
  });

  it('Anthropic stream (create with stream: true): message_start + cumulative message_delta, not double counted', async () => {
    const stream = await new AnthropicProvider(anthropic).stream({
      model: 'claude-3-haiku-20240307',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toContain('message_delta');
    expect(onlyCall()).toMatchObject({ streamed: true, model: 'claude-3-haiku-20240307', usage: { inputTokens: 3050, outputTokens: 200, cachedInputTokens: 2000 } });
  });

  it('Anthropic MessageStream helper: iterated events are tracked, finalMessage() still works', async () => {
    const stream = new AnthropicProvider(anthropic).streamHelper({
      model: 'claude-3-opus-20240229',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    for await (const _ of stream) void _;
    const final = await stream.finalMessage();
    expect(final.usage.output_tokens).toBe(200);
    expect(onlyCall()).toMatchObject({ streamed: true, usage: { inputTokens: 3050, outputTokens: 200 } });
  });

  describe('SDK stream helpers: one event per call, whichever way the stream is consumed', () => {
    const anthropicParams = {
      model: 'claude-3-opus-20240229',
      max_tokens: 100,
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    // claude-3-opus: 50 plain at 1.5, 2000 read at 0.15, 1000 written at 1.875, 200 out at 7.5 (cents / 1K)
    const anthropicCost = 50 * 1_500_000 + 2000 * 150_000 + 1000 * 1_875_000 + 200 * 7_500_000;
    const anthropicUsage = { inputTokens: 3050, outputTokens: 200, cachedInputTokens: 2000, cacheWriteInputTokens: 1000, reasoningTokens: 0 };
    const chatParams = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'hi' }],
      stream_options: { include_usage: true },
    };
    // gpt-4o-mini: 176 plain at 0.015, 1024 cached at 0.0075, 300 out at 0.06 (cents / 1K)
    const chatCost = 176 * 15_000 + 1024 * 7_500 + 300 * 60_000;
    const chatUsage = { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024, cacheWriteInputTokens: 0, reasoningTokens: 128 };
    /** Lets the SDK's own end handlers and the tracking settle. */
    const settled = () => new Promise((resolve) => setTimeout(resolve, 20));

    it('anthropic.messages.stream() finished with finalMessage() only', async () => {
      const stream = new AnthropicProvider(anthropic).streamHelper(anthropicParams);
      const final = await stream.finalMessage();
      expect(final.content[0]).toMatchObject({ type: 'text', text: 'Hello!' });
      await settled();
      const e = onlyCall();
      expect(e).toMatchObject({ provider: 'anthropic', model: 'claude-3-opus-20240229', success: true, streamed: true });
      expect(e.usage).toEqual(anthropicUsage);
      expect(e.costNanoCents).toBe(anthropicCost);
      expect(e.timeToFirstChunkMs).toBeGreaterThan(0);
    });

    it('anthropic.messages.stream() consumed through listeners only', async () => {
      const stream = new AnthropicProvider(anthropic).streamHelper(anthropicParams);
      let text = '';
      stream.on('text', (delta) => (text += delta));
      const message = await new Promise<Anthropic.Message>((resolve) => stream.on('message', resolve));
      await settled();
      expect(text).toBe('Hello!');
      expect(message.usage.output_tokens).toBe(200);
      expect(onlyCall().usage).toEqual(anthropicUsage);
    });

    it('anthropic.messages.stream() read through toReadableStream()', async () => {
      const stream = new AnthropicProvider(anthropic).streamHelper(anthropicParams);
      const reader = stream.toReadableStream().getReader();
      let bytes = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
      await settled();
      expect(bytes).toBeGreaterThan(0);
      expect(onlyCall()).toMatchObject({ streamed: true, success: true, costNanoCents: anthropicCost });
    });

    it('anthropic.messages.stream() iterated, then finalMessage(), then done(): still one event', async () => {
      const stream = new AnthropicProvider(anthropic).streamHelper(anthropicParams);
      for await (const _ of stream) void _;
      await stream.finalMessage();
      await stream.done();
      await settled();
      expect(onlyCall().usage).toEqual(anthropicUsage);
    });

    it('anthropic.messages.stream() failing with an API error: a failed call, the error still reaches the caller', async () => {
      const stream = new AnthropicProvider(anthropic).streamHelper({ ...anthropicParams, model: 'fail-429' });
      const error = await stream.finalMessage().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.RateLimitError);
      await settled();
      expect(onlyCall()).toMatchObject({ success: false, usage: null, costNanoCents: null, error: { type: 'RateLimitError' } });
    });

    it('anthropic.messages.stream() left early (break): one event, not a failure, with the usage seen so far', async () => {
      const stream = new AnthropicProvider(anthropic).streamHelper(anthropicParams);
      for await (const event of stream) if (event.type === 'message_start') break;
      await settled();
      expect(stream.aborted).toBe(true);
      // message_start carries the input usage (how many later events were parsed before the abort
      // depends on how the server's bytes arrived).
      expect(onlyCall()).toMatchObject({ success: true, streamed: true, usage: { inputTokens: 3050 } });
    });

    it('openai chat.completions.stream() finished with finalChatCompletion() only', async () => {
      const stream = new OpenAiHelperProvider(openai).chatStream(chatParams);
      const completion = await stream.finalChatCompletion();
      expect(completion.choices[0]!.message.content).toBe('Hello!');
      await settled();
      const e = onlyCall();
      expect(e).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', success: true, streamed: true });
      expect(e.usage).toEqual(chatUsage);
      expect(e.costNanoCents).toBe(chatCost);
    });

    it('openai chat.completions.stream() from an async method, iterated then finalChatCompletion(): one event', async () => {
      const stream = await new OpenAiHelperProvider(openai).chatStreamLater(chatParams);
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      await stream.finalChatCompletion();
      await settled();
      expect(text).toBe('Hello!');
      expect(onlyCall()).toMatchObject({ usage: chatUsage, costNanoCents: chatCost });
    });

    it('openai chat.completions.stream() with a content listener and done()', async () => {
      const stream = new OpenAiHelperProvider(openai).chatStream(chatParams);
      let text = '';
      stream.on('content', (delta) => (text += delta));
      await stream.done();
      await settled();
      expect(text).toBe('Hello!');
      expect(onlyCall().usage).toEqual(chatUsage);
    });

    it('openai responses.stream() finished with finalResponse(), and iterated', async () => {
      const provider = new OpenAiHelperProvider(openai);
      const response = await provider.responseStream({ model: 'o1-preview', input: 'hi' }).finalResponse();
      expect(response.output_text).toBe('Hi there');
      await settled();
      expect(onlyCall()).toMatchObject({
        model: 'o1-preview',
        streamed: true,
        usage: { inputTokens: 800, outputTokens: 900, reasoningTokens: 700 },
        costNanoCents: 800 * 1_500_000 + 900 * 6_000_000,
      });
      ctx.sink.events.length = 0;
      const stream = provider.responseStream({ model: 'o1-preview', input: 'hi' });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      await settled();
      expect(types).toEqual(['response.created', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.completed']);
      expect(onlyCall().usage).toMatchObject({ inputTokens: 800, outputTokens: 900 });
    });

    it('openai responses.stream() failing: a failed call', async () => {
      const stream = new OpenAiHelperProvider(openai).responseStream({ model: 'fail-429', input: 'hi' });
      const error = await stream.finalResponse().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      await settled();
      expect(onlyCall()).toMatchObject({ success: false, error: { type: 'RateLimitError' } });
    });

    it('an openai Stream from create({ stream: true }) split with tee(): both halves read, one event', async () => {
      const stream = await new OpenAiChatProvider(openai).stream({ ...chatParams, stream: true });
      const [left, right] = stream.tee();
      const text = async (half: typeof left) => {
        let t = '';
        for await (const chunk of half) t += chunk.choices[0]?.delta?.content ?? '';
        return t;
      };
      expect(await Promise.all([text(left), text(right)])).toEqual(['Hello!', 'Hello!']);
      await settled();
      expect(onlyCall()).toMatchObject({ streamed: true, usage: chatUsage, costNanoCents: chatCost });
    });

    it('an openai Stream from create({ stream: true }) read through toReadableStream()', async () => {
      const stream = await new OpenAiChatProvider(openai).stream({ ...chatParams, stream: true });
      const reader = stream.toReadableStream().getReader();
      while (!(await reader.read()).done);
      await settled();
      expect(onlyCall()).toMatchObject({ streamed: true, usage: chatUsage, costNanoCents: chatCost });
    });
  });

  it('an API error from the SDK is recorded as a failed call and rethrown untouched', async () => {
    const error = await new OpenAiChatProvider(openai)
      .complete({ model: 'fail-429', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(onlyCall()).toMatchObject({ success: false, usage: null, error: { type: 'RateLimitError' } });
  });
});
