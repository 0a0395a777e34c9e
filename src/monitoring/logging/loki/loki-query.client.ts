/** Why a Loki query did not return entries. */
export class LokiQueryError extends Error {
  constructor(
    message: string,
    /** True when Loki could not be reached or did not answer in time (or answered 429/5xx). */
    readonly unavailable: boolean,
  ) {
    super(message);
    this.name = 'LokiQueryError';
  }
}

/** One log entry returned by Loki. */
export interface LokiEntry {
  /** Nanoseconds since the epoch, as Loki returns them. */
  ts: string;
  line: string;
  /** Labels of the stream the entry belongs to. */
  labels: Record<string, string>;
}

export interface LokiQueryOptions {
  url: string;
  tenantId?: string;
  timeoutMs: number;
}

/** Options for one `query_range` call. */
export interface QueryRangeRequest {
  query: string;
  start: Date;
  end: Date;
  limit: number;
  direction: 'backward' | 'forward';
}

/**
 * Minimal client of Loki's `GET /loki/api/v1/query_range` for log queries, with a timeout.
 * Credentials in the URL become basic auth and never appear in error messages.
 */
export class LokiQueryClient {
  private readonly baseUrl: string;
  /** The URL without credentials, for messages. */
  readonly displayUrl: string;
  private readonly headers: Record<string, string> = { Accept: 'application/json' };

  constructor(private readonly options: LokiQueryOptions) {
    const url = new URL(options.url);
    if (url.username || url.password) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      this.headers.Authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    if (options.tenantId) this.headers['X-Scope-OrgID'] = options.tenantId;
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.displayUrl = this.baseUrl;
  }

  /** Runs a log query; entries of every stream, newest first for `backward`. */
  async queryRange(request: QueryRangeRequest): Promise<LokiEntry[]> {
    const params = new URLSearchParams({
      query: request.query,
      start: toNanos(request.start),
      end: toNanos(request.end),
      limit: String(request.limit),
      direction: request.direction,
    });
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/loki/api/v1/query_range?${params.toString()}`, {
        headers: this.headers,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const e = error as {
        name?: string;
        message?: string;
        cause?: { code?: string; message?: string };
      };
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${this.options.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
      throw new LokiQueryError(`Loki at ${this.displayUrl} is unreachable: ${reason}`, true);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new LokiQueryError(
        `Loki at ${this.displayUrl} broke off its answer: ${(error as Error).message}`,
        true,
      );
    }
    if (!response.ok) {
      const unavailable = response.status === 429 || response.status >= 500;
      throw new LokiQueryError(
        `Loki at ${this.displayUrl} answered ${response.status}: ${text.slice(0, 300).trim()}`,
        unavailable,
      );
    }
    return parseStreams(text, this.displayUrl);
  }
}

function toNanos(date: Date): string {
  return `${date.getTime()}000000`;
}

function parseStreams(text: string, url: string): LokiEntry[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new LokiQueryError(`Loki at ${url} answered with something that is not JSON`, false);
  }
  const data = (body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } })
    .data;
  if (
    (body as { status?: unknown }).status !== 'success' ||
    !data ||
    data.resultType !== 'streams' ||
    !Array.isArray(data.result)
  ) {
    throw new LokiQueryError(`Loki at ${url} did not answer with log streams`, false);
  }
  const entries: LokiEntry[] = [];
  for (const stream of data.result as { stream?: Record<string, string>; values?: unknown[] }[]) {
    const labels = stream.stream ?? {};
    for (const value of stream.values ?? []) {
      if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') {
        entries.push({ ts: value[0], line: value[1], labels });
      }
    }
  }
  return entries;
}
