import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 16 * 512;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** W3C `traceparent`: version, 32-hex trace id, 16-hex parent span id, 2-hex flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ALL_ZERO_TRACE = '00000000000000000000000000000000';
const ALL_ZERO_SPAN = '0000000000000000';

/** What an incoming W3C `traceparent` header carries. */
export interface IncomingTraceContext {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** The caller's span id: 16 lowercase hex characters. */
  parentSpanId: string;
  /** The caller's sampled flag. */
  sampled: boolean;
}

/**
 * A new W3C trace id: 16 random bytes as 32 lowercase hex characters (never all zeros). Drawn from
 * a pooled buffer of random bytes so that a request pays no system call.
 */
export function newTraceId(): string {
  if (offset + 16 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 16);
  offset += 16;
  return id === ALL_ZERO_TRACE ? newTraceId() : id;
}

/**
 * Reads a W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/#traceparent-header).
 * Returns undefined for a missing or malformed header, version `ff`, or all-zero ids, as the
 * specification asks; a future version is read by its first four fields.
 */
export function parseTraceparent(header: string | string[] | undefined): IncomingTraceContext | undefined {
  if (typeof header !== 'string' || header.length < 55 || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, parentSpanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || (version === '00' && header.trim().length !== 55)) return undefined;
  if (traceId === ALL_ZERO_TRACE || parentSpanId === ALL_ZERO_SPAN) return undefined;
  return { traceId, parentSpanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** Where a request's trace comes from: the app's active OpenTelemetry span, else a `traceparent` header. */
export function incomingTraceContext(
  traceparent: string | string[] | undefined,
  activeOtelSpan: (() => { traceId: string; spanId: string } | undefined) | undefined,
): (IncomingTraceContext & { fromOtel: boolean }) | undefined {
  const active = activeOtelSpan?.();
  if (active) return { traceId: active.traceId, parentSpanId: active.spanId, sampled: true, fromOtel: true };
  const header = parseTraceparent(traceparent);
  return header ? { ...header, fromOtel: false } : undefined;
}

/**
 * The 64-bit span id of OpenTelemetry and W3C headers (16 hex) for a span id of this module (a
 * UUIDv7): its 48-bit time and 12-bit counter, which are unique within a process, mixed by XOR
 * with its 62 random bits, which differ between processes. Deterministic, so a parent's id can be
 * derived from its UUID alone.
 */
export function spanIdToHex64(spanId: string): string {
  const hex = spanId.replaceAll('-', '');
  const time = BigInt(`0x${hex.slice(0, 12)}`);
  const counter = BigInt(`0x${hex.slice(13, 16)}`);
  const key = BigInt(`0x${hex.slice(16, 32)}`);
  const id = (((time << 16n) | (counter << 4n)) ^ key).toString(16).padStart(16, '0');
  return id === ALL_ZERO_SPAN ? '0000000000000001' : id;
}
