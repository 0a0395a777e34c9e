import { BadRequestException } from '@nestjs/common';

/** Levels a recent-logs query may ask for, lowest first. */
export const QUERY_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type QueryLevel = (typeof QUERY_LEVELS)[number];

export const DEFAULT_RECENT_LOGS_LIMIT = 50;
export const MAX_RECENT_LOGS_LIMIT = 1000;
/** Time range when neither `from` nor `hours` is given. */
export const DEFAULT_RECENT_LOGS_HOURS = 24;
/** Longest time range (Loki's default `max_query_length` is 721h). */
export const MAX_RECENT_LOGS_HOURS = 720;
const MAX_ID_LENGTH = 256;
/** The query parameters recent-logs accepts; any other is refused with 400. */
const RECENT_LOGS_PARAMETERS = new Set([
  'limit',
  'level',
  'from',
  'to',
  'hours',
  'contains',
  'agent_id',
  'workflow_id',
  'request_id',
]);
const MAX_CONTAINS_LENGTH = 500;

/** A validated recent-logs query. */
export interface RecentLogsQuery {
  limit: number;
  /** Lowest level returned (`error` returns error and fatal lines). */
  level?: QueryLevel;
  agentId?: string;
  workflowId?: string;
  requestId?: string;
  /** Case-sensitive substring of the raw line (LogQL `|=`). */
  contains?: string;
  /** Start of the range, inclusive. */
  from: Date;
  /** End of the range, exclusive. */
  to: Date;
}

/** Levels at or above `level`. */
export function levelsFrom(level: QueryLevel): QueryLevel[] {
  return QUERY_LEVELS.slice(QUERY_LEVELS.indexOf(level));
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function bad(message: string): never {
  throw new BadRequestException(message);
}

function single(raw: Record<string, unknown>, name: string): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') bad(`${name} must be given once, as a single value`);
  return value;
}

function parseDate(name: string, value: string): Date {
  const invalid = (): never =>
    bad(`${name} must be an ISO 8601 date-time, e.g. 2025-01-15T10:00:00Z`);
  const m = ISO_8601.exec(value) ?? invalid();
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone = 'Z'] = m;
  // Without an offset the time is UTC, not the server's local time.
  const offset = zone === 'Z' ? zone : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${offset}`);
  // Date.parse rolls 2025-02-30 over to March: reject calendar dates that do not exist.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    !Number.isFinite(time) ||
    day.getUTCMonth() !== Number(mo) - 1 ||
    day.getUTCDate() !== Number(d)
  )
    invalid();
  return new Date(time);
}

function parseId(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > MAX_ID_LENGTH)
    bad(`${name} must have 1 to ${MAX_ID_LENGTH} characters`);
  return value;
}

/**
 * Validates the query string of `GET /api/analytics/recent-logs`. Throws a 400 naming the
 * parameter for anything invalid.
 */
export function parseRecentLogsQuery(
  raw: Record<string, unknown>,
  now: Date = new Date(),
): RecentLogsQuery {
  // Refused like on the report routes: a misspelt filter must not silently return everything.
  const unknown = Object.keys(raw).filter((key) => !RECENT_LOGS_PARAMETERS.has(key));
  if (unknown.length > 0) bad(unknown.map((key) => `property ${key} should not exist`).join('; '));
  const limitRaw = single(raw, 'limit');
  let limit = DEFAULT_RECENT_LOGS_LIMIT;
  if (limitRaw !== undefined) {
    if (
      !/^\d{1,7}$/.test(limitRaw) ||
      Number(limitRaw) < 1 ||
      Number(limitRaw) > MAX_RECENT_LOGS_LIMIT
    ) {
      bad(`limit must be an integer from 1 to ${MAX_RECENT_LOGS_LIMIT}`);
    }
    limit = Number(limitRaw);
  }

  const levelRaw = single(raw, 'level');
  let level: QueryLevel | undefined;
  if (levelRaw !== undefined) {
    const l = levelRaw.toLowerCase();
    if (!(QUERY_LEVELS as readonly string[]).includes(l))
      bad(`level must be one of ${QUERY_LEVELS.join(', ')}`);
    level = l as QueryLevel;
  }

  const fromRaw = single(raw, 'from');
  const toRaw = single(raw, 'to');
  const hoursRaw = single(raw, 'hours');
  const to = toRaw !== undefined ? parseDate('to', toRaw) : now;
  let from: Date;
  if (hoursRaw !== undefined) {
    if (fromRaw !== undefined) bad('hours cannot be combined with from');
    const hours = /^\d+(\.\d+)?$/.test(hoursRaw) ? Number(hoursRaw) : NaN;
    if (!(hours > 0 && hours <= MAX_RECENT_LOGS_HOURS)) {
      bad(`hours must be a number greater than 0 and at most ${MAX_RECENT_LOGS_HOURS}`);
    }
    from = new Date(to.getTime() - hours * 3_600_000);
  } else if (fromRaw !== undefined) {
    from = parseDate('from', fromRaw);
  } else {
    from = new Date(to.getTime() - DEFAULT_RECENT_LOGS_HOURS * 3_600_000);
  }
  if (from.getTime() >= to.getTime()) bad('from must be earlier than to');
  if (to.getTime() - from.getTime() > MAX_RECENT_LOGS_HOURS * 3_600_000) {
    bad(`from and to must be at most ${MAX_RECENT_LOGS_HOURS} hours apart`);
  }

  const contains = single(raw, 'contains');
  if (contains !== undefined && (contains.length === 0 || contains.length > MAX_CONTAINS_LENGTH)) {
    bad(`contains must have 1 to ${MAX_CONTAINS_LENGTH} characters`);
  }

  const query: RecentLogsQuery = { limit, from, to };
  if (level !== undefined) query.level = level;
  const agentId = parseId('agent_id', single(raw, 'agent_id'));
  if (agentId !== undefined) query.agentId = agentId;
  const workflowId = parseId('workflow_id', single(raw, 'workflow_id'));
  if (workflowId !== undefined) query.workflowId = workflowId;
  const requestId = parseId('request_id', single(raw, 'request_id'));
  if (requestId !== undefined) query.requestId = requestId;
  if (contains !== undefined) query.contains = contains;
  return query;
}
