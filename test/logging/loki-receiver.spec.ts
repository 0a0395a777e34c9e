import { gzipSync } from 'node:zlib';
import { LokiReceiver } from './loki-receiver';

/**
 * The receiver stands in for Loki in the contract tests, so it must follow Loki's documented API:
 * these tests pin that behaviour down.
 */
describe('LokiReceiver (stand-in for Loki, following its documented HTTP API)', () => {
  const receiver = new LokiReceiver();
  const nowNs = () => BigInt(Date.now()) * 1_000_000n;

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(() => receiver.reset());

  const push = (
    body: unknown,
    headers: Record<string, string> = { 'Content-Type': 'application/json' },
  ) =>
    fetch(`${receiver.url}/loki/api/v1/push`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });

  const queryRange = async (params: Record<string, string>) => {
    const res = await fetch(
      `${receiver.url}/loki/api/v1/query_range?${new URLSearchParams(params).toString()}`,
    );
     
    const body: any = res.headers.get('content-type')?.includes('json')
      ? await res.json()
      : await res.text();
    return { status: res.status, body };
  };

  /** The plan's example line, plus a slow call and lines of other shapes. */
  async function pushDesignLines() {
    const t = nowNs();
    const lines = [
      {
        event: 'llm_call_completed',
        provider: 'openai',
        model: 'gpt-4o',
        latency_ms: 2340.5,
        agent_id: 'kpi-calculator',
        request_id: 'req-abc123',
      },
      {
        event: 'llm_call_completed',
        provider: 'openai',
        model: 'gpt-4o',
        latency_ms: 7200,
        agent_id: 'summarizer',
      },
      { event: 'agent_execution_completed', agent_id: 'kpi-calculator', latency_ms: 9100 },
      { event: 'http_request', route: '/health', duration_ms: 2 },
    ];
    const res = await push({
      streams: [
        {
          stream: { app: 'magure-ai', env: 'production' },
          values: [
            ...lines.map((l, i) => [
              String(t + BigInt(i)),
              JSON.stringify({ level: 'info', ...l }),
            ]),
            [String(t + 10n), 'plain text line, not JSON'],
          ],
        },
        {
          stream: { app: 'other-app', env: 'production' },
          values: [
            [
              String(t),
              JSON.stringify({ event: 'llm_call_completed', agent_id: 'kpi-calculator' }),
            ],
          ],
        },
      ],
    });
    expect(res.status).toBe(204);
  }

  it('accepts a JSON push with 204 and an empty body, gzip-compressed or not', async () => {
    const body = { streams: [{ stream: { app: 'a' }, values: [[String(nowNs()), 'one']] }] };
    const plain = await push(body);
    expect(plain.status).toBe(204);
    expect(await plain.text()).toBe('');
    const gzipped = await push(
      gzipSync(
        JSON.stringify({
          streams: [{ stream: { app: 'a' }, values: [[String(nowNs() + 1n), 'two']] }],
        }),
      ),
      {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
      },
    );
    expect(gzipped.status).toBe(204);
    expect(receiver.lines).toEqual(['one', 'two']);
  });

  it('rejects malformed pushes with 400 and a message, and protobuf bodies with 415', async () => {
    const ts = String(nowNs());
    const cases: [unknown, RegExp][] = [
      ['{not json', /PushRequest/],
      [{ streams: 'x' }, /streams/],
      [{ streams: [{ stream: {}, values: [[ts, 'x']] }] }, /at least one label pair/],
      [{ streams: [{ stream: { 'bad-name': 'x' }, values: [[ts, 'x']] }] }, /invalid label name/],
      [{ streams: [{ stream: { app: 'a' }, values: [[Number(ts), 'x']] }] }, /nanoseconds/],
      [{ streams: [{ stream: { app: 'a' }, values: [[ts, 42]] }] }, /line must be a string/],
      [
        { streams: [{ stream: { app: 'a' }, values: [[ts, 'x', { n: 1 }]] }] },
        /structured metadata/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await push(body);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    const proto = await push(Buffer.from([1, 2, 3]), { 'Content-Type': 'application/x-protobuf' });
    expect(proto.status).toBe(415);
    expect(receiver.lineCount).toBe(0);
  });

  it('drops an entry identical to a stored one (same stream, timestamp and line), as Loki does', async () => {
    const ts = String(nowNs());
    await push({
      streams: [
        {
          stream: { app: 'a' },
          values: [
            [ts, 'same'],
            [ts, 'same'],
            [ts, 'other'],
          ],
        },
      ],
    });
    expect(receiver.lines.sort()).toEqual(['other', 'same']);
  });

  it('answers query_range with the documented streams shape, newest first by default', async () => {
    await pushDesignLines();
    const { status, body } = await queryRange({ query: '{app="magure-ai"}', limit: '2' });
    expect(status).toBe(200);
    expect(body.status).toBe('success');
    expect(body.data.resultType).toBe('streams');
    expect(body.data.result).toHaveLength(1);
    const [stream] = body.data.result;
    expect(stream.stream).toEqual({ app: 'magure-ai', env: 'production' });
    expect(stream.values.map((v: [string, string]) => v[1])).toEqual([
      'plain text line, not JSON',
      JSON.stringify({ level: 'info', event: 'http_request', route: '/health', duration_ms: 2 }),
    ]);
    const forward = await queryRange({
      query: '{app="magure-ai"}',
      limit: '1',
      direction: 'forward',
    });
    expect(JSON.parse(forward.body.data.result[0].values[0][1])).toMatchObject({
      latency_ms: 2340.5,
    });
  });

  it('runs the design\'s query: {app="magure-ai"} |= "llm_call_completed" | json | agent_id="kpi-calculator"', async () => {
    await pushDesignLines();
    const { body } = await queryRange({
      query: '{app="magure-ai"} |= "llm_call_completed" | json | agent_id="kpi-calculator"',
    });
    const result = body.data.result as {
      stream: Record<string, string>;
      values: [string, string][];
    }[];
    expect(result.flatMap((s) => s.values.map((v) => JSON.parse(v[1]).request_id))).toEqual([
      'req-abc123',
    ]);
    // Extracted fields become labels of the returned stream, as in Loki.
    expect(result[0]!.stream).toMatchObject({
      app: 'magure-ai',
      event: 'llm_call_completed',
      agent_id: 'kpi-calculator',
      latency_ms: '2340.5',
    });
  });

  it('runs the design\'s query: {app="magure-ai"} | json | latency_ms > 5000', async () => {
    await pushDesignLines();
    const { body } = await queryRange({ query: '{app="magure-ai"} | json | latency_ms > 5000' });
    const result = body.data.result as {
      stream: Record<string, string>;
      values: [string, string][];
    }[];
    const lines = result.flatMap((s) => s.values.map((v) => v[1]));
    // The two slow lines; the line without latency_ms is filtered out; the non-JSON line is kept
    // with __error__="JSONParserErr", exactly as Loki does (add `| __error__=""` to drop it).
    expect(
      lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l).latency_ms)
        .sort(),
    ).toEqual([7200, 9100]);
    expect(
      result.find((s) => s.stream.__error__ === 'JSONParserErr')!.values.map((v) => v[1]),
    ).toEqual(['plain text line, not JSON']);
    const clean = await queryRange({
      query: '{app="magure-ai"} | json | latency_ms > 5000 | __error__=""',
    });
    expect(clean.body.data.result.flatMap((s: { values: unknown[] }) => s.values)).toHaveLength(2);
  });

  it('filters on start (inclusive) and end (exclusive), given in ns or RFC3339', async () => {
    const t = 1_700_000_000_000_000_000n;
    await push({
      streams: [
        {
          stream: { app: 'a' },
          values: [0n, 1n, 2n].map((i) => [String(t + i * 1_000_000_000n), `s${i}`]),
        },
      ],
    });
    const ns = await queryRange({
      query: '{app="a"}',
      start: String(t + 1_000_000_000n),
      end: String(t + 2_000_000_000n),
    });
    expect(ns.body.data.result[0].values.map((v: string[]) => v[1])).toEqual(['s1']);
    const rfc = await queryRange({
      query: '{app="a"}',
      start: '2023-11-14T22:13:20Z',
      end: '2023-11-14T22:13:21Z',
    });
    expect(rfc.body.data.result[0].values.map((v: string[]) => v[1])).toEqual(['s0']);
  });

  it('makes structured metadata available to label filters', async () => {
    const t = nowNs();
    await push({
      streams: [
        {
          stream: { app: 'a' },
          values: [
            [String(t), 'with', { trace_id: 'abc' }],
            [String(t + 1n), 'without'],
          ],
        },
      ],
    });
    const { body } = await queryRange({ query: '{app="a"} | trace_id="abc"' });
    expect(
      body.data.result.flatMap((s: { values: string[][] }) => s.values.map((v) => v[1])),
    ).toEqual(['with']);
  });

  it('answers 400 with a message for invalid LogQL and for queries it does not implement', async () => {
    for (const query of [
      '{app="a"',
      '{app="a"} |= ',
      'sum(rate({app="a"}[5m]))',
      '{app="a"} | logfmt',
    ]) {
      const res = await queryRange({ query });
      expect(res.status).toBe(400);
      expect(typeof res.body).toBe('string');
      expect(res.body.length).toBeGreaterThan(0);
    }
  });

  it('can be taken down and brought back on the same port, and can fail pushes on purpose', async () => {
    const url = receiver.url;
    await receiver.stop();
    await expect(push({ streams: [] })).rejects.toThrow();
    await receiver.start();
    expect(receiver.url).toBe(url);
    receiver.failNext(429, 1, '2');
    const limited = await push({
      streams: [{ stream: { app: 'a' }, values: [[String(nowNs()), 'x']] }],
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(
      (await push({ streams: [{ stream: { app: 'a' }, values: [[String(nowNs()), 'x']] }] }))
        .status,
    ).toBe(204);
    expect(receiver.pushAttempts).toBe(2);
  });
});
