/** A chat request in the shape both demo providers accept (a subset of the OpenAI / Anthropic params). */
export interface LlmRequest {
  model: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  max_tokens?: number;
  stream?: boolean;
}
