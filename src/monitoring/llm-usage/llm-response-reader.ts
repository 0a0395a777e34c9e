import type { TokenUsage } from '../events/monitoring-event';

/**
 * Reads token usage, model and text from the response shapes of the official `openai` SDK
 * (Chat Completions, Responses API) and `@anthropic-ai/sdk` (Messages), including their streams.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object';
/**
 * A token count as reported: absent or null is 0; anything else is passed on (a string becomes
 * NaN) so that the usage validation sees and counts it instead of it vanishing here.
 */
const num = (v: unknown): number => (v === undefined || v === null ? 0 : typeof v === 'number' ? v : NaN);

/** Usage of a non-streamed response, or null when it carries none. */
export function readUsage(response: unknown): TokenUsage | null {
  if (!isObj(response)) return null;
  const usage = response.usage;
  if (!isObj(usage)) return null;
  return readUsageObject(usage);
}

/** Normalises one provider usage object. */
export function readUsageObject(usage: Obj): TokenUsage | null {
  // OpenAI Chat Completions: prompt_tokens includes cached tokens.
  if ('prompt_tokens' in usage || 'completion_tokens' in usage) {
    const prompt = isObj(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
    const completion = isObj(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
    return {
      inputTokens: num(usage.prompt_tokens),
      outputTokens: num(usage.completion_tokens),
      cachedInputTokens: num(prompt.cached_tokens),
      cacheWriteInputTokens: 0,
      reasoningTokens: num(completion.reasoning_tokens),
    };
  }
  if ('input_tokens' in usage || 'output_tokens' in usage) {
    // Anthropic: input_tokens excludes cache reads and writes, which are reported beside it.
    if ('cache_read_input_tokens' in usage || 'cache_creation_input_tokens' in usage) {
      const read = num(usage.cache_read_input_tokens);
      const written = num(usage.cache_creation_input_tokens);
      return {
        inputTokens: num(usage.input_tokens) + read + written,
        outputTokens: num(usage.output_tokens),
        cachedInputTokens: read,
        cacheWriteInputTokens: written,
        reasoningTokens: 0,
      };
    }
    // OpenAI Responses API: input_tokens includes cached tokens.
    const input = isObj(usage.input_tokens_details) ? usage.input_tokens_details : {};
    const output = isObj(usage.output_tokens_details) ? usage.output_tokens_details : {};
    return {
      inputTokens: num(usage.input_tokens),
      outputTokens: num(usage.output_tokens),
      cachedInputTokens: num(input.cached_tokens),
      cacheWriteInputTokens: 0,
      reasoningTokens: num(output.reasoning_tokens),
    };
  }
  return null;
}

/** Model name reported by a response or stream event. */
export function readModel(value: unknown): string | undefined {
  if (!isObj(value)) return undefined;
  if (typeof value.model === 'string') return value.model;
  if (isObj(value.message) && typeof value.message.model === 'string') return value.message.model;
  if (isObj(value.response) && typeof value.response.model === 'string') return value.response.model;
  return undefined;
}

/** Text of a non-streamed response (for opt-in completion capture). */
export function readText(response: unknown): string | undefined {
  if (!isObj(response)) return undefined;
  if (typeof response.output_text === 'string') return response.output_text;
  if (Array.isArray(response.choices)) {
    const first = response.choices[0] as Obj | undefined;
    const message = first && isObj(first.message) ? first.message : undefined;
    if (message && typeof message.content === 'string') return message.content;
  }
  if (Array.isArray(response.content)) {
    return (response.content as unknown[])
      .map((b) => (isObj(b) && typeof b.text === 'string' ? b.text : ''))
      .join('');
  }
  return undefined;
}

/** Text of a message content: a string, or the text parts of a content array (images and tool parts skipped). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part === 'string' ? part : isObj(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((t) => t.length > 0)
    .join('\n');
}

/**
 * Prompt text of an LLM request (for opt-in prompt capture), one `role: text` line per message:
 * OpenAI Chat Completions `messages`, Responses API `instructions` + `input`, Anthropic `system` +
 * `messages`, or a plain string argument.
 */
export function readPrompt(request: unknown): string | undefined {
  if (typeof request === 'string') return request;
  if (!isObj(request)) return undefined;
  const lines: string[] = [];
  const add = (role: unknown, content: unknown) => {
    const text = contentText(content);
    if (text) lines.push(`${typeof role === 'string' ? role : 'user'}: ${text}`);
  };
  if (request.system !== undefined) add('system', request.system);
  if (request.instructions !== undefined) add('system', request.instructions);
  for (const source of [request.messages, request.input]) {
    if (typeof source === 'string') add('user', source);
    else if (Array.isArray(source)) for (const m of source) if (isObj(m)) add(m.role, m.content);
  }
  if (typeof request.prompt === 'string') add('user', request.prompt);
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/**
 * Accumulates usage, model and text over the events of a streamed response:
 * OpenAI chat chunks (usage on the final chunk when `stream_options.include_usage` is set),
 * Responses API events (`response.completed`), and Anthropic events (`message_start` carries
 * input usage; each `message_delta` carries cumulative counts, so values are replaced, not added).
 */
export class StreamUsageAccumulator {
  usage: TokenUsage | null = null;
  model: string | undefined;
  private text: string[] | undefined;
  private anthropic: Obj | undefined;

  constructor(captureText: boolean) {
    if (captureText) this.text = [];
  }

  add(event: unknown): void {
    if (!isObj(event)) return;
    const type = event.type;
    if (type === undefined) {
      // OpenAI chat.completion.chunk
      if (this.model === undefined && typeof event.model === 'string') this.model = event.model;
      if (isObj(event.usage)) this.usage = readUsageObject(event.usage);
      if (this.text && Array.isArray(event.choices)) {
        const delta = isObj(event.choices[0]) ? (event.choices[0]).delta : undefined;
        if (isObj(delta) && typeof delta.content === 'string') this.text.push(delta.content);
      }
      return;
    }
    switch (type) {
      case 'message_start': {
        const message = isObj(event.message) ? event.message : {};
        if (typeof message.model === 'string') this.model = message.model;
        this.anthropic = isObj(message.usage) ? { ...message.usage } : {};
        this.usage = readUsageObject({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, ...this.anthropic });
        return;
      }
      case 'message_delta': {
        if (!isObj(event.usage)) return;
        this.anthropic = { ...(this.anthropic ?? {}) };
        for (const [k, v] of Object.entries(event.usage)) if (typeof v === 'number') this.anthropic[k] = v;
        this.usage = readUsageObject({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, ...this.anthropic });
        return;
      }
      case 'content_block_delta': {
        const delta = isObj(event.delta) ? event.delta : {};
        if (this.text && typeof delta.text === 'string') this.text.push(delta.text);
        return;
      }
      case 'response.created':
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        const response = isObj(event.response) ? event.response : {};
        if (typeof response.model === 'string') this.model = response.model;
        if (isObj(response.usage)) this.usage = readUsageObject(response.usage);
        return;
      }
      case 'response.output_text.delta':
        if (this.text && typeof event.delta === 'string') this.text.push(event.delta);
        return;
      default:
        return;
    }
  }

  get completion(): string | undefined {
    return this.text?.join('');
  }
}
