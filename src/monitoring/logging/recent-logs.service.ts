import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  ServiceUnavailableException,
  BadGatewayException,
} from '@nestjs/common';
import { MONITORING_OPTIONS } from '../monitoring.constants';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { LogPipeline } from './log-pipeline';
import { recentLogsLogql } from './loki/logql';
import { LokiQueryClient, LokiQueryError } from './loki/loki-query.client';
import { QUERY_LEVELS, type RecentLogsQuery } from './recent-logs.query';

/** One log line as returned by the recent-logs endpoint. */
export interface RecentLogEntry {
  /** ISO 8601 time the line was written. */
  timestamp: string;
  level: string;
  /** The line's message, or its event name for event lines. */
  message: string;
  /** Every field of the JSON line. */
  fields: Record<string, unknown>;
}

/** Body of `GET /api/analytics/recent-logs`. */
export interface RecentLogsResponse {
  /** Where the lines come from: Loki, or the in-process buffer of recent lines. */
  source: 'loki' | 'memory';
  from: string;
  to: string;
  count: number;
  /** Newest first. */
  logs: RecentLogEntry[];
  /** Set when the answer comes from the buffer because Loki was unreachable. */
  warning?: string;
}

const LEVEL_RANK: Record<string, number> = Object.fromEntries(QUERY_LEVELS.map((l, i) => [l, i]));

/** Answers recent-logs queries from Loki when it is enabled, else from the in-process buffer. */
@Injectable()
export class RecentLogsService {
  private readonly loki: LokiQueryClient | undefined;
  private readonly labels: Record<string, string>;

  constructor(
    @Inject(MONITORING_OPTIONS) private readonly options: MonitoringOptions,
    @Inject(LogPipeline) private readonly pipeline: LogPipeline,
  ) {
    this.labels = { app: options.appName, env: options.environment, ...options.lokiLabels };
    this.loki = options.lokiEnabled
      ? new LokiQueryClient({
          url: options.lokiUrl,
          timeoutMs: options.lokiTimeoutMs,
          ...(options.lokiTenantId !== undefined ? { tenantId: options.lokiTenantId } : {}),
        })
      : undefined;
  }

  async find(query: RecentLogsQuery): Promise<RecentLogsResponse> {
    if (!this.loki) return this.fromBuffer(query);
    try {
      return await this.fromLoki(this.loki, query);
    } catch (error) {
      if (!(error instanceof LokiQueryError)) throw error;
      if (error.unavailable && this.options.recentLogsFallbackToBuffer && this.pipeline.recent) {
        return {
          ...this.fromBuffer(query),
          warning: `${error.message}; answered from the in-process buffer`,
        };
      }
      if (error.unavailable) throw new ServiceUnavailableException(error.message);
      throw new BadGatewayException(error.message);
    }
  }

  private async fromLoki(
    loki: LokiQueryClient,
    query: RecentLogsQuery,
  ): Promise<RecentLogsResponse> {
    const entries = await loki.queryRange({
      query: recentLogsLogql(this.labels, query),
      start: query.from,
      end: query.to,
      limit: query.limit,
      direction: 'backward',
    });
    entries.sort((a, b) => compareNanos(b.ts, a.ts));
    const logs = entries.slice(0, query.limit).map((e) => toEntry(e.line, nanosToIso(e.ts)));
    return {
      source: 'loki',
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      count: logs.length,
      logs,
    };
  }

  private fromBuffer(query: RecentLogsQuery): RecentLogsResponse {
    const buffer = this.pipeline.recent;
    if (!buffer) {
      throw new HttpException(
        'recent logs are not kept: enable Loki (lokiEnabled) or set recentLogsBufferSize above 0',
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
    const from = query.from.getTime();
    const to = query.to.getTime();
    const minRank = query.level === undefined ? undefined : LEVEL_RANK[query.level];
    const logs: RecentLogEntry[] = [];
    for (const raw of buffer.newestFirst()) {
      if (logs.length >= query.limit) break;
      if (query.contains !== undefined && !raw.includes(query.contains)) continue;
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        continue;
      }
      const time = typeof fields.timestamp === 'string' ? Date.parse(fields.timestamp) : NaN;
      if (!(time >= from && time < to)) continue;
      if (minRank !== undefined && !((LEVEL_RANK[String(fields.level)] ?? -1) >= minRank)) continue;
      if (query.agentId !== undefined && fields.agent_id !== query.agentId) continue;
      if (query.workflowId !== undefined && fields.workflow_id !== query.workflowId) continue;
      if (query.requestId !== undefined && fields.request_id !== query.requestId) continue;
      logs.push(entryOf(fields, new Date(time).toISOString()));
    }
    return {
      source: 'memory',
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      count: logs.length,
      logs,
    };
  }
}

function toEntry(line: string, fallbackTime: string): RecentLogEntry {
  try {
    const fields = JSON.parse(line) as unknown;
    if (fields !== null && typeof fields === 'object' && !Array.isArray(fields)) {
      return entryOf(fields as Record<string, unknown>, fallbackTime);
    }
  } catch {
    // Not a JSON line (written by another program into the same stream): returned as text.
  }
  return { timestamp: fallbackTime, level: 'unknown', message: line, fields: {} };
}

function entryOf(fields: Record<string, unknown>, fallbackTime: string): RecentLogEntry {
  return {
    timestamp: typeof fields.timestamp === 'string' ? fields.timestamp : fallbackTime,
    level: typeof fields.level === 'string' ? fields.level : 'unknown',
    message:
      typeof fields.msg === 'string'
        ? fields.msg
        : typeof fields.event === 'string'
          ? fields.event
          : '',
    fields,
  };
}

function compareNanos(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

function nanosToIso(ts: string): string {
  const ms = Number(ts.slice(0, -6) || '0');
  return new Date(ms).toISOString();
}
