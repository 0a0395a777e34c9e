import { randomUUID } from 'node:crypto';
import { BaseLlmProvider } from './base-llm.provider';
import type { LlmRequest } from './llm-request';
import { between, countTokens, ProviderApiError, sleep, type SimulationSettings } from './simulated-latency';

/**
 * Answers like the OpenAI Chat Completions API: the same JSON objects the `openai` SDK returns,
 * including streamed `chat.completion.chunk`s with the final usage chunk.
 */
export class FakeOpenAiProvider extends BaseLlmProvider {
  readonly provider = 'openai';

  constructor(private readonly sim: SimulationSettings) {
    super();
  }

  private usage(request: LlmRequest) {
    const prompt = request.messages.reduce((n, m) => n + countTokens(m.content), 0) + 7;
    const completion = between(20, request.max_tokens ?? 400);
    const cached = prompt > 1024 ? Math.floor(prompt / 2 / 128) * 128 : 0;
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
  }

  private maybeFail() {
    if (Math.random() < this.sim.failureRate) {
      throw Math.random() < 0.5
        ? new ProviderApiError(429, 'Rate limit reached for requests')
        : new ProviderApiError(500, 'The server had an error while processing your request');
    }
  }

  protected async send(request: LlmRequest) {
    await sleep(between(200, 1800) * this.sim.latencyScale);
    this.maybeFail();
    const usage = this.usage(request);
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: `${request.model}-2024-08-06`,
      system_fingerprint: 'fp_demo',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Simulated answer.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    };
  }

  protected async *sendStream(request: LlmRequest) {
    await sleep(between(100, 500) * this.sim.latencyScale);
    this.maybeFail();
    const usage = this.usage(request);
    const id = `chatcmpl-${randomUUID()}`;
    const base = { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: request.model };
    const words = ['Simulated ', 'streamed ', 'answer.'];
    for (const [i, word] of words.entries()) {
      await sleep(between(20, 80) * this.sim.latencyScale);
      yield { ...base, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: word } : { content: word }, finish_reason: null }], usage: null };
    }
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null };
    // stream_options.include_usage: one last chunk with empty choices carries the usage.
    yield { ...base, choices: [], usage };
  }
}
