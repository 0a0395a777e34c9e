import { BadRequestException } from '@nestjs/common';

/** Longest range a report accepts, in hours (ten years). */
export const MAX_RANGE_HOURS = 87_600;
/** Range of the reports when neither `hours` nor `from`/`to` is given. */
export const DEFAULT_RANGE_HOURS = 24;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** A half-open time range `[from, to)`. */
export interface TimeRange {
  from: Date;
  to: Date;
}

// Date only (UTC midnight), or date-time with seconds/fraction optional and a mandatory zone:
// a time without a zone would silently depend on the server's time zone. A space stands for
// "+" because an unencoded "+" in a query string decodes to a space.
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+\- ]\d{2}(?::?\d{2})?))?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an ISO 8601 instant (`2025-03-01`, `2025-03-01T22:30:00Z`, `2025-03-01T22:30+01:00`).
 * Returns null for anything else, including impossible dates such as February 30 (which
 * `Date.parse` would silently roll over into March).
 */
export function parseIsoInstant(text: unknown): Date | null {
  if (typeof text !== 'string') return null;
  const m = ISO_INSTANT.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (h === undefined) return new Date(Date.UTC(year, month - 1, day));
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return null;
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const epoch = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  return new Date(epoch);
}

/** The range parameters every report accepts (already type-checked by the DTO). */
export interface RangeParameters {
  hours?: number;
  from?: string;
  to?: string;
}

function badRequest(message: string): BadRequestException {
  return new BadRequestException(message);
}

/**
 * Turns `hours` / `from` / `to` into a range:
 * - neither `from` nor `to`: the last `hours` (default 24) hours up to now;
 * - `from` and `to`: exactly that range (`hours` is then refused as ambiguous);
 * - `from` only: from then until now;
 * - `to` only: the `hours` (default 24) hours before `to`.
 * Throws a 400 naming the parameter when the range is empty, reversed or longer than ten years.
 */
export function resolveRange(params: RangeParameters, now: Date): TimeRange {
  const from = params.from === undefined ? undefined : parseIsoInstant(params.from);
  const to = params.to === undefined ? undefined : parseIsoInstant(params.to);
  // The DTO already rejected malformed instants; this keeps the function safe on its own.
  if (from === null) throw badRequest('from must be an ISO 8601 date or date-time with a time zone');
  if (to === null) throw badRequest('to must be an ISO 8601 date or date-time with a time zone');
  if (params.hours !== undefined && from !== undefined) {
    throw badRequest('hours cannot be combined with from (give from/to, or hours with an optional to)');
  }
  const hours = params.hours ?? DEFAULT_RANGE_HOURS;
  const end = to ?? now;
  const start = from ?? new Date(end.getTime() - hours * HOUR_MS);
  if (start.getTime() >= end.getTime()) {
    throw badRequest(to === undefined ? 'from must be earlier than now' : 'from must be earlier than to');
  }
  if (end.getTime() - start.getTime() > MAX_RANGE_HOURS * HOUR_MS) {
    throw badRequest(`the range from..to must not exceed ${MAX_RANGE_HOURS} hours`);
  }
  return { from: start, to: end };
}

/** Start of the UTC hour that contains `t`. */
export function floorHour(t: Date): Date {
  return new Date(Math.floor(t.getTime() / HOUR_MS) * HOUR_MS);
}

/** Start of the first UTC hour that begins at or after `t`. */
export function ceilHour(t: Date): Date {
  return new Date(Math.ceil(t.getTime() / HOUR_MS) * HOUR_MS);
}

/** Start of the UTC day that contains `t`. */
export function floorDay(t: Date): Date {
  return new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);
}

/**
 * How a range is answered: whole hours that the aggregator has closed come from the hourly
 * rollup, every other instant (the partial hours at both ends, hours not yet rolled up, the
 * current hour) from the raw table. The two parts never overlap and together cover the range
 * exactly, which is what makes the sums exact.
 */
export interface RangePlan extends TimeRange {
  /** Whole hours `[start, end)` read from the rollup, or null when none qualifies. */
  rollup: TimeRange | null;
  /** Pieces read from the raw table (0, 1 or 2 of them). */
  raw: TimeRange[];
}

/**
 * Splits `range` given that rollups are complete for every hour before `rolledUpUntil`
 * (exclusive; null when the aggregator has not run).
 */
export function planRange(range: TimeRange, rolledUpUntil: Date | null): RangePlan {
  const firstWhole = ceilHour(range.from);
  const lastWholeEnd = floorHour(range.to);
  const rollupEnd =
    rolledUpUntil === null ? firstWhole : new Date(Math.min(lastWholeEnd.getTime(), floorHour(rolledUpUntil).getTime()));
  if (rollupEnd.getTime() <= firstWhole.getTime()) {
    return { ...range, rollup: null, raw: [{ from: range.from, to: range.to }] };
  }
  const raw: TimeRange[] = [];
  if (range.from.getTime() < firstWhole.getTime()) raw.push({ from: range.from, to: firstWhole });
  if (rollupEnd.getTime() < range.to.getTime()) raw.push({ from: rollupEnd, to: range.to });
  return { ...range, rollup: { from: firstWhole, to: rollupEnd }, raw };
}
