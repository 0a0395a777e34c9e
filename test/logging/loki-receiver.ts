import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import { LogqlError, matchesSelector, parseLogQuery, runPipeline } from './logql-engine';

/**
 * A stand-in for Loki, used because Loki cannot be installed where these tests run. It implements
 * the documented HTTP API the module relies on, and nothing more:
 *
 * - `POST /loki/api/v1/push` with `Content-Type: application/json`, optionally
 *   `Content-Encoding: gzip` or `deflate`: `{"streams":[{"stream":{labels},"values":[["<ns>","<line>",{structured metadata}?]]}]}`.
 *   Answers 204 on success, 400 with a text message for a malformed body or a stream without
 *   labels, 415 for protobuf bodies (not implemented here; the module sends JSON).
 * - `GET /loki/api/v1/query_range` with `query`, `start`, `end` (ns epoch or RFC3339), `limit`
 *   (default 100), `direction` (`backward`, the default, or `forward`). Answers
 *   `{"status":"success","data":{"resultType":"streams","result":[{"stream":{...},"values":[["<ns>","<line>"]]}]}}`,
 *   or 400 with a text message for a bad query. LogQL is parsed with Grafana's grammar, see
 *   `logql-engine.ts` for what is evaluated.
 * - `GET /ready`.
 *
 * Test controls: `stop()` / `start()` take it off the network and back on the same port,
 * `failNext()` makes pushes answer an error status, `hang` leaves push requests unanswered.
 */

interface StoredEntry {
  ts: bigint;
  line: string;
  metadata: Record<string, string>;
}

interface StoredStream {
  labels: Record<string, string>;
  entries: StoredEntry[];
}

/** One push request that was accepted. */
export interface ReceivedPush {
  headers: IncomingHttpHeaders;
  streams: {
    stream: Record<string, string>;
    values: [string, string, Record<string, string>?][];
  }[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class LokiReceiver {
  /** Accepted push requests, in order. */
  readonly pushes: ReceivedPush[] = [];
  /** Every push request received, accepted or not. */
  pushAttempts = 0;
  /** Push requests answered with an error status on purpose. */
  failedOnPurpose = 0;
  /** When true, push requests are read but never answered. */
  hang = false;

  private readonly streams = new Map<string, StoredStream>();
  private readonly sockets = new Set<Socket>();
  private failures: { status: number; remaining: number; retryAfter?: string } | undefined;
  private server: Server | undefined;
  private port = 0;

  /** Base URL (`http://127.0.0.1:<port>`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Log lines stored, across streams. */
  get lineCount(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.entries.length;
    return n;
  }

  /** Stored lines of every stream, oldest first. */
  get lines(): string[] {
    return [...this.streams.values()]
      .flatMap((s) => s.entries)
      .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))
      .map((e) => e.line);
  }

  /** Distinct label sets that were pushed. */
  get labelSets(): Record<string, string>[] {
    return [...this.streams.values()].map((s) => s.labels);
  }

  /** Listens (on the previous port after a stop). */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(error));
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and cuts open connections: clients get connection errors. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next `count` push requests are answered with `status` (e.g. 429, 503, 400). */
  failNext(status: number, count: number, retryAfter?: string): void {
    this.failures = {
      status,
      remaining: count,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
    };
  }

  /** Forgets every stored line and push. */
  reset(): void {
    this.streams.clear();
    this.pushes.length = 0;
    this.pushAttempts = 0;
    this.failedOnPurpose = 0;
  }

  /** Evaluates a LogQL log query over the stored lines, as `query_range` does. */
  query(
    logql: string,
    options: {
      start?: bigint;
      end?: bigint;
      limit?: number;
      direction?: 'backward' | 'forward';
    } = {},
  ): { stream: Record<string, string>; values: [string, string][] }[] {
    const q = parseLogQuery(logql);
    const now = BigInt(Date.now()) * 1_000_000n;
    const start = options.start ?? now - 3_600_000_000_000n;
    const end = options.end ?? now;
    const limit = options.limit ?? 100;
    const backward = (options.direction ?? 'backward') === 'backward';
    const hits: { ts: bigint; line: string; labels: Record<string, string> }[] = [];
    for (const stream of this.streams.values()) {
      if (!matchesSelector(q.selector, stream.labels)) continue;
      for (const e of stream.entries) {
        if (e.ts < start || e.ts >= end) continue;
        const out = runPipeline(
          q,
          { line: e.line, labels: { ...stream.labels, ...e.metadata } },
          stream.labels,
        );
        if (out) hits.push({ ts: e.ts, line: out.line, labels: out.labels });
      }
    }
    hits.sort((a, b) => (a.ts === b.ts ? 0 : a.ts < b.ts === backward ? 1 : -1));
    const grouped = new Map<
      string,
      { stream: Record<string, string>; values: [string, string][] }
    >();
    for (const hit of hits.slice(0, limit)) {
      const key = labelsKey(hit.labels);
      let group = grouped.get(key);
      if (!group) {
        group = { stream: hit.labels, values: [] };
        grouped.set(key, group);
      }
      group.values.push([hit.ts.toString(), hit.line]);
    }
    return [...grouped.values()];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'POST' && url.pathname === '/loki/api/v1/push') return this.push(req, res);
    if (req.method === 'GET' && url.pathname === '/loki/api/v1/query_range')
      return this.queryRange(url, res);
    if (req.method === 'GET' && url.pathname === '/ready') return text(res, 200, 'ready');
    return text(res, 404, '404 page not found');
  }

  private async push(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.pushAttempts++;
    const raw = await readBody(req);
    if (this.hang) return; // never answered: the client must time out
    if (this.failures && this.failures.remaining > 0) {
      this.failures.remaining--;
      this.failedOnPurpose++;
      const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
      if (this.failures.retryAfter !== undefined) headers['Retry-After'] = this.failures.retryAfter;
      res.writeHead(this.failures.status, headers);
      res.end(
        this.failures.status === 429 ? 'Ingestion rate limit exceeded' : 'failing on purpose',
      );
      return;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') {
      return text(
        res,
        415,
        `Content-Type ${contentType || '(none)'} is not implemented by this receiver: send application/json`,
      );
    }
    let body: Buffer;
    const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
    try {
      if (encoding === '') body = raw;
      else if (encoding === 'gzip') body = gunzipSync(raw);
      else if (encoding === 'deflate') body = inflateSync(raw);
      else return text(res, 415, `Content-Encoding "${encoding}" not supported`);
    } catch (error) {
      return text(res, 400, `cannot decompress body: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return text(res, 400, `loghttp.PushRequest: ${(error as Error).message}`);
    }
    const problem = validatePush(parsed);
    if (problem) return text(res, 400, problem);
    const push = parsed as ReceivedPush;
    for (const s of push.streams) {
      const key = labelsKey(s.stream);
      let stored = this.streams.get(key);
      if (!stored) {
        stored = { labels: { ...s.stream }, entries: [] };
        this.streams.set(key, stored);
      }
      for (const [ts, line, metadata] of s.values) {
        // Loki drops an entry identical to one already stored (same stream, timestamp and line).
        const t = BigInt(ts);
        if (stored.entries.some((e) => e.ts === t && e.line === line)) continue;
        stored.entries.push({ ts: t, line, metadata: metadata ?? {} });
      }
    }
    this.pushes.push({ headers: req.headers, streams: push.streams });
    res.writeHead(204);
    res.end();
  }

  private queryRange(url: URL, res: ServerResponse): void {
    const p = url.searchParams;
    const query = p.get('query');
    if (!query) return text(res, 400, 'query parameter is required');
    let start: bigint | undefined;
    let end: bigint | undefined;
    try {
      start = p.has('start') ? parseTime(p.get('start')!) : undefined;
      end = p.has('end') ? parseTime(p.get('end')!) : undefined;
    } catch (error) {
      return text(res, 400, (error as Error).message);
    }
    const limit = p.has('limit') ? Number(p.get('limit')) : 100;
    if (!Number.isInteger(limit) || limit <= 0)
      return text(res, 400, 'limit must be a positive integer');
    const direction = p.get('direction') ?? 'backward';
    if (direction !== 'backward' && direction !== 'forward')
      return text(res, 400, 'direction must be forward or backward');
    if (start !== undefined && end !== undefined && end < start) {
      return text(res, 400, 'end timestamp must not be before or equal to start time');
    }
    let result;
    try {
      result = this.query(query, {
        ...(start !== undefined ? { start } : {}),
        ...(end !== undefined ? { end } : {}),
        limit,
        direction,
      });
    } catch (error) {
      if (error instanceof LogqlError) return text(res, 400, error.message);
      throw error;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({ status: 'success', data: { resultType: 'streams', result, stats: {} } }),
    );
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function labelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function parseTime(value: string): bigint {
  if (/^\d+$/.test(value)) return BigInt(value);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`cannot parse "${value}" to a valid timestamp`);
  return BigInt(ms) * 1_000_000n;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value as Record<string, unknown>).every((v) => typeof v === 'string')
  );
}

/** Checks a push body against the documented shape; returns the problem, if any. */
function validatePush(body: unknown): string | undefined {
  if (
    body === null ||
    typeof body !== 'object' ||
    !Array.isArray((body as { streams?: unknown }).streams)
  ) {
    return 'push body must be {"streams":[...]}';
  }
  for (const s of (body as { streams: unknown[] }).streams) {
    const stream = (s as { stream?: unknown }).stream;
    const values = (s as { values?: unknown }).values;
    if (!isStringRecord(stream)) return 'stream labels must be an object of strings';
    if (Object.keys(stream).length === 0)
      return 'error at least one label pair is required per stream';
    for (const name of Object.keys(stream))
      if (!LABEL_NAME.test(name)) return `invalid label name "${name}"`;
    if (!Array.isArray(values)) return 'values must be an array';
    for (const v of values) {
      if (!Array.isArray(v) || (v.length !== 2 && v.length !== 3))
        return 'each value must be [timestamp, line] or [timestamp, line, metadata]';
      if (typeof v[0] !== 'string' || !/^\d{1,19}$/.test(v[0]))
        return `timestamp "${String(v[0])}" must be a string of nanoseconds`;
      if (typeof v[1] !== 'string') return 'log line must be a string';
      if (v.length === 3 && !isStringRecord(v[2]))
        return 'structured metadata must be an object of strings';
    }
  }
  return undefined;
}
