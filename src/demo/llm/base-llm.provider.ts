import { TrackLLM } from '../../monitoring';
import type { LlmRequest } from './llm-request';

/**
 * The one LLM choke point of the demo: every provider extends this class, so the single
 * `@TrackLLM()` below captures every call, streamed or not.
 */
export abstract class BaseLlmProvider {
  abstract readonly provider: string;

  @TrackLLM()
  complete(request: LlmRequest): Promise<unknown> {
    return this.send(request);
  }

  @TrackLLM()
  stream(request: LlmRequest): AsyncIterable<unknown> {
    return this.sendStream(request);
  }

  protected abstract send(request: LlmRequest): Promise<unknown>;
  protected abstract sendStream(request: LlmRequest): AsyncIterable<unknown>;
}
