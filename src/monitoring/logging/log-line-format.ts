import { hostname } from 'node:os';

/**
 * The fixed parts of every log line, serialized once: the same `level`, `timestamp`, `pid` and
 * `hostname` fields pino writes for application lines, so event lines and application lines have
 * one shape.
 */
const STATIC_TAIL = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;

let lastMs = NaN;
let lastIso = '';

/**
 * ISO 8601 text of a time in ms. Lines written in the same millisecond share one string:
 * formatting a date costs more than the rest of a short line.
 */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** pino `timestamp` option writing the same `timestamp` field as event lines. */
export function isoTimestamp(): string {
  return `,"timestamp":"${isoTime(Date.now())}"`;
}

/** Characters JSON.stringify escapes in a string: controls, quote, backslash, and surrogates (lone ones). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * A string as JSON text. Ids, names and routes — most values of a line — need no escaping: they
 * are quoted as they are, which costs a third less than `JSON.stringify`; anything else goes
 * through it.
 */
export function jsonString(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/**
 * Builds one JSON log line by appending fields. Field names given to the typed methods are
 * constants of this module (written as they are); values are JSON-encoded; undefined values are
 * left out, as pino does.
 */
export class JsonLine {
  private text: string;

  constructor(level: string, timeMs: number) {
    this.text = `{"level":"${level}","timestamp":"${isoTime(timeMs)}"${STATIC_TAIL}`;
  }

  str(key: string, value: string | undefined): void {
    if (value !== undefined) this.text += `,"${key}":${jsonString(value)}`;
  }

  num(key: string, value: number | undefined): void {
    if (value !== undefined) this.text += `,"${key}":${Number.isFinite(value) ? value : 'null'}`;
  }

  bool(key: string, value: boolean | undefined): void {
    if (value !== undefined) this.text += `,"${key}":${value}`;
  }

  /** Any JSON value under any key (both encoded); values that cannot be encoded are replaced. */
  any(key: string, value: unknown): void {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = '"[Unserializable]"';
    }
    if (json !== undefined) this.text += `,${JSON.stringify(key)}:${json}`;
  }

  /** The finished line, newline-terminated like pino's. */
  end(): string {
    return `${this.text}}\n`;
  }
}
