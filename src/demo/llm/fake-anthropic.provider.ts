import { randomUUID } from 'node:crypto';
import { BaseLlmProvider } from './base-llm.provider';
import type { LlmRequest } from './llm-request';
import { between, countTokens, ProviderApiError, sleep, type SimulationSettings } from './simulated-latency';

/**
 * Answers like the Anthropic Messages API: the `Message` objects `@anthropic-ai/sdk` returns, and
 * its streaming events (`message_start` with input usage, cumulative `message_delta` usage).
 */
export class FakeAnthropicProvider extends BaseLlmProvider {
  readonly provider = 'anthropic';

  constructor(private readonly sim: SimulationSettings) {
    super();
  }

  private counts(request: LlmRequest) {
    const input = request.messages.reduce((n, m) => n + countTokens(m.content), 0) + 10;
    const cacheRead = input > 1024 ? Math.floor(input * 0.6) : 0;
    return { input: input - cacheRead, cacheRead, output: between(20, request.max_tokens ?? 400) };
  }

  private maybeFail() {
    if (Math.random() < this.sim.failureRate) {
      throw Math.random() < 0.5
        ? new ProviderApiError(529, 'Overloaded')
        : new ProviderApiError(500, 'Internal server error');
    }
  }

  protected async send(request: LlmRequest) {
    await sleep(between(300, 2500) * this.sim.latencyScale);
    this.maybeFail();
    const c = this.counts(request);
    return {
      id: `msg_${randomUUID().replace(/-/g, '')}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [{ type: 'text', text: 'Simulated answer.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: c.input,
        output_tokens: c.output,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: c.cacheRead,
      },
    };
  }

  protected async *sendStream(request: LlmRequest) {
    await sleep(between(100, 600) * this.sim.latencyScale);
    this.maybeFail();
    const c = this.counts(request);
    yield {
      type: 'message_start',
      message: {
        id: `msg_${randomUUID().replace(/-/g, '')}`,
        type: 'message',
        role: 'assistant',
        model: request.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: c.input, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: c.cacheRead },
      },
    };
    yield { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } };
    for (const word of ['Simulated ', 'streamed ', 'answer.']) {
      await sleep(between(20, 80) * this.sim.latencyScale);
      yield { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } };
    }
    yield { type: 'content_block_stop', index: 0 };
    // Usage in message_delta is cumulative: the final output count, not an increment.
    yield { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: c.output } };
    yield { type: 'message_stop' };
  }
}
