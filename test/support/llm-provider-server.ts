import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server answering like the OpenAI and Anthropic APIs, with the JSON bodies and SSE
 * streams their API references document. The real SDK clients are pointed at it through baseURL.
 */
export interface ProviderServer {
  url: string;
  requests: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
}

function sse(res: ServerResponse, events: { event?: string; data: unknown }[], done = false) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) {
    if (e.event) res.write(`event: ${e.event}\n`);
    res.write(`data: ${JSON.stringify(e.data)}\n\n`);
  }
  if (done) res.write('data: [DONE]\n\n');
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function chatCompletions(res: ServerResponse, body: Record<string, unknown>) {
  const model = String(body.model);
  if (model === 'fail-429') {
    return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
  }
  const usage = {
    prompt_tokens: 1200,
    completion_tokens: 300,
    total_tokens: 1500,
    prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const base = { id: 'chatcmpl-test', created: 1_700_000_000, model: `${model}-2024-08-06`, system_fingerprint: 'fp_test' };
  if (!body.stream) {
    return json(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage,
    });
  }
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunk = (choices: unknown[], u: unknown = null) => ({ data: { ...base, object: 'chat.completion.chunk', choices, usage: u } });
  sse(
    res,
    [
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: 'Hel' }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: 'lo!' }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
      ...(includeUsage ? [chunk([], usage)] : []),
    ],
    true,
  );
}

function responses(res: ServerResponse, body: Record<string, unknown>) {
  if (body.model === 'fail-429') {
    return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
  }
  const response = {
    id: 'resp_test',
    object: 'response',
    created_at: 1_700_000_000,
    status: 'completed',
    model: String(body.model),
    output: [
      { type: 'message', id: 'msg_test', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there', annotations: [] }] },
    ],
    usage: {
      input_tokens: 800,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 900,
      output_tokens_details: { reasoning_tokens: 700 },
      total_tokens: 1700,
    },
  };
  if (!body.stream) return json(res, 200, response);
  sse(res, [
    { event: 'response.created', data: { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', usage: null, output: [] } } },
    {
      event: 'response.output_item.added',
      data: { type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { type: 'message', id: 'msg_test', status: 'in_progress', role: 'assistant', content: [] } },
    },
    {
      event: 'response.content_part.added',
      data: { type: 'response.content_part.added', sequence_number: 2, item_id: 'msg_test', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } },
    },
    { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', sequence_number: 3, item_id: 'msg_test', output_index: 0, content_index: 0, delta: 'Hi there' } },
    { event: 'response.completed', data: { type: 'response.completed', sequence_number: 4, response } },
  ]);
}

function messages(res: ServerResponse, body: Record<string, unknown>) {
  const model = String(body.model);
  if (model === 'fail-429') {
    return json(res, 429, { type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } });
  }
  const message = {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: 'Hello!' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 50, output_tokens: 200, cache_creation_input_tokens: 1000, cache_read_input_tokens: 2000 },
  };
  if (!body.stream) return json(res, 200, message);
  sse(res, [
    {
      event: 'message_start',
      data: { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } } },
    },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    { event: 'ping', data: { type: 'ping' } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '!' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 200 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
}

/** Starts the server on a free loopback port. */
export async function startProviderServer(): Promise<ProviderServer> {
  const requests: ProviderServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      const path = (req.url ?? '').split('?')[0]!;
      requests.push({ path, body });
      if (req.method === 'POST' && path === '/v1/chat/completions') return chatCompletions(res, body);
      if (req.method === 'POST' && path === '/v1/responses') return responses(res, body);
      if (req.method === 'POST' && path === '/v1/messages') return messages(res, body);
      json(res, 404, { error: { message: `no route ${path}` } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
