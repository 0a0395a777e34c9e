import {
  TABLE_COLUMNS,
  timestampText,
  type AnalyticsRow,
  type AnalyticsTable,
} from './analytics-tables';

/** The two data formats of `COPY ... FROM STDIN`. */
export type CopyFormat = 'binary' | 'text';

const copySql = new Map<string, string>();

/** `COPY "<table>" ("id", ...) FROM STDIN (FORMAT <format>)`, columns in `TABLE_COLUMNS` order. */
export function copyFromSql(table: AnalyticsTable, format: CopyFormat): string {
  const key = `${table}:${format}`;
  let sql = copySql.get(key);
  if (!sql) {
    const names = TABLE_COLUMNS[table].map((c) => `"${c.name}"`).join(', ');
    sql = `COPY "${table}" (${names}) FROM STDIN (FORMAT ${format})`;
    copySql.set(key, sql);
  }
  return sql;
}

/**
 * A row value the encoder cannot represent in its column's type. It carries PostgreSQL's SQLSTATE
 * for the same mistake (`22P02` invalid_text_representation), so the write queue treats it like a
 * row the server rejected: it isolates and drops that row instead of retrying the batch forever.
 */
export class CopyValueError extends Error {
  readonly code = '22P02';
  constructor(table: AnalyticsTable, column: string, detail: string) {
    super(`${table}.${column}: ${detail}`);
    this.name = 'CopyValueError';
  }
}

// ---------------------------------------------------------------------------------------------
// Binary format (https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9.4): a header,
// then per row a 16-bit field count and each field as a 32-bit length (-1 = NULL) and its bytes in
// the type's binary send format; a 16-bit -1 ends the data. PostgreSQL then parses no text at all:
// no timestamp, UUID or numeric input functions run per value, which is most of its CPU per row
// after the index updates.
// ---------------------------------------------------------------------------------------------

const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** PostgreSQL's epoch (2000-01-01 UTC) as Unix milliseconds. */
const POSTGRES_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;
const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[65 + i] = 10 + i;
  HEX_VALUE[97 + i] = 10 + i;
}

/**
 * Big-endian 32-bit store without `Buffer#writeInt32BE`'s argument and range checks (the values
 * are lengths and checked integers; the caller has reserved the room). Negative values are
 * written in two's complement, as `writeInt32BE` does.
 */
function int32(buf: Buffer, p: number, v: number): void {
  buf[p] = v >>> 24;
  buf[p + 1] = v >>> 16;
  buf[p + 2] = v >>> 8;
  buf[p + 3] = v;
}

/** A growing output buffer (one per batch). */
class Output {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** The rows of a batch in COPY binary format, ready to send as one `CopyData` payload. */
export function encodeCopyBinary(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Buffer {
  const columns = TABLE_COLUMNS[table];
  const out = new Output(rows.length * 256 + 64);
  out.reserve(19);
  BINARY_SIGNATURE.copy(out.buf, 0);
  out.buf.writeInt32BE(0, 11); // flags: no OIDs
  out.buf.writeInt32BE(0, 15); // no header extension
  out.pos = 19;
  const count = columns.length;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    out.reserve(2 + count * 8);
    out.buf[out.pos] = count >>> 8;
    out.buf[out.pos + 1] = count;
    out.pos += 2;
    for (let c = 0; c < count; c++) {
      const value = row[c];
      if (value === null || value === undefined) {
        out.reserve(4);
        int32(out.buf, out.pos, -1);
        out.pos += 4;
        continue;
      }
      const column = columns[c]!;
      switch (column.type) {
        case 'text':
          writeText(out, typeof value === 'string' ? value : stringOf(value), 0);
          break;
        case 'jsonb':
          // jsonb's binary form is a version byte (1) and the JSON text.
          writeText(out, typeof value === 'string' ? value : stringOf(value), 1);
          break;
        case 'int4':
          writeInt4(out, table, column.name, value);
          break;
        case 'bool':
          out.reserve(5);
          int32(out.buf, out.pos, 1);
          out.buf[out.pos + 4] = value ? 1 : 0;
          out.pos += 5;
          break;
        case 'uuid':
          writeUuid(out, table, column.name, value);
          break;
        case 'timestamptz':
          writeTimestamp(out, table, column.name, value);
          break;
        case 'numeric':
          writeNumeric(out, table, column.name, value);
          break;
      }
    }
  }
  out.reserve(2);
  out.buf.writeInt16BE(-1, out.pos);
  out.pos += 2;
  return out.buf.subarray(0, out.pos);
}

function stringOf(value: unknown): string {
  // Row values are scalars (numbers, strings, booleans) built by the row mapper.
  return String(value);
}

/** Strings up to this length are copied byte by byte when ASCII (cheaper than a native call). */
const SHORT_STRING = 64;

function writeText(out: Output, s: string, versionByte: 0 | 1): void {
  const prefix = versionByte ? 1 : 0;
  const length = s.length;
  out.reserve(4 + prefix + length * 3);
  const buf = out.buf;
  const start = out.pos;
  let p = start + 4;
  if (prefix) buf[p++] = versionByte;
  let ascii = length <= SHORT_STRING;
  if (ascii) {
    for (let i = 0; i < length; i++) {
      const ch = s.charCodeAt(i);
      if (ch > 127) {
        ascii = false;
        break;
      }
      buf[p + i] = ch;
    }
  }
  p += ascii ? length : buf.write(s, p, 'utf8');
  int32(buf, start, p - start - 4);
  out.pos = p;
}

function writeInt4(out: Output, table: AnalyticsTable, column: string, value: unknown): void {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < -2_147_483_648 || n > 2_147_483_647)
    throw new CopyValueError(table, column, `not a 32-bit integer: ${String(value)}`);
  out.reserve(8);
  int32(out.buf, out.pos, 4);
  int32(out.buf, out.pos + 4, n);
  out.pos += 8;
}

/** Where the 16 digit pairs of a UUID start, in its dashed and its plain hexadecimal form. */
const UUID_PAIRS_DASHED = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const UUID_PAIRS_PLAIN = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];

function hexValue(ch: number): number {
  return ch < 128 ? HEX_VALUE[ch]! : -1;
}

function writeUuid(out: Output, table: AnalyticsTable, column: string, value: unknown): void {
  const s = typeof value === 'string' ? value : '';
  const pairs =
    s.length === 36 &&
    s.charCodeAt(8) === 45 &&
    s.charCodeAt(13) === 45 &&
    s.charCodeAt(18) === 45 &&
    s.charCodeAt(23) === 45
      ? UUID_PAIRS_DASHED
      : s.length === 32
        ? UUID_PAIRS_PLAIN
        : undefined;
  if (!pairs) throw new CopyValueError(table, column, `not a UUID: ${String(value)}`);
  out.reserve(20);
  const buf = out.buf;
  const p = out.pos + 4;
  let invalid = 0;
  for (let k = 0; k < 16; k++) {
    const i = pairs[k]!;
    const hi = hexValue(s.charCodeAt(i));
    const lo = hexValue(s.charCodeAt(i + 1));
    invalid |= hi | lo; // negative once any digit is not hexadecimal
    buf[p + k] = (hi << 4) | lo;
  }
  if (invalid < 0) throw new CopyValueError(table, column, `not a UUID: ${String(value)}`);
  int32(buf, out.pos, 16);
  out.pos = p + 16;
}

function writeTimestamp(out: Output, table: AnalyticsTable, column: string, value: unknown): void {
  // Unix ms from the row mapper; ISO text in rows journaled by earlier versions.
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? Date.parse(value)
        : value instanceof Date
          ? value.getTime()
          : NaN;
  if (!Number.isFinite(ms))
    throw new CopyValueError(table, column, `not a timestamp: ${String(value)}`);
  // int64 microseconds since 2000-01-01 UTC, as two 32-bit halves (exact below 2^53).
  const us = Math.round((ms - POSTGRES_EPOCH_MS) * 1000);
  const high = Math.floor(us / TWO_32);
  out.reserve(12);
  const buf = out.buf;
  const p = out.pos;
  int32(buf, p, 8);
  int32(buf, p + 4, high);
  int32(buf, p + 8, us - high * TWO_32);
  out.pos = p + 12;
}

/**
 * NUMERIC's binary form: digit count, weight (of the first digit, in powers of 10,000), sign and
 * display scale, then base-10,000 digits. Written from the decimal string the mapper produces,
 * so a cost is stored exactly as formatted (no floating point on the way).
 */
function writeNumeric(out: Output, table: AnalyticsTable, column: string, value: unknown): void {
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
  // Few distinct amounts recur (a model's price times common token counts): reuse their bytes.
  const cached = numericCache.get(text);
  if (cached) {
    out.reserve(cached.length);
    cached.copy(out.buf, out.pos);
    out.pos += cached.length;
    return;
  }
  const start = out.pos;
  encodeNumeric(out, table, column, value, text);
  if (numericCache.size >= NUMERIC_CACHE_SIZE) numericCache.clear();
  numericCache.set(text, Buffer.from(out.buf.subarray(start, out.pos)));
}

const NUMERIC_CACHE_SIZE = 4096;
const numericCache = new Map<string, Buffer>();

function encodeNumeric(
  out: Output,
  table: AnalyticsTable,
  column: string,
  value: unknown,
  text: string,
): void {
  const m = DECIMAL.exec(text);
  if (!m) throw new CopyValueError(table, column, `not a decimal number: ${String(value)}`);
  const intPart = m[2]!.replace(/^0+/, '');
  const fracPart = m[3] ?? '';
  const digits: number[] = [];
  // Integer part: groups of four from the right; fraction: groups of four from the left.
  const lead = intPart.length % 4;
  let weight = Math.ceil(intPart.length / 4) - 1;
  if (lead > 0) digits.push(Number(intPart.slice(0, lead)));
  for (let i = lead; i < intPart.length; i += 4) digits.push(Number(intPart.slice(i, i + 4)));
  for (let i = 0; i < fracPart.length; i += 4)
    digits.push(Number(fracPart.slice(i, i + 4).padEnd(4, '0')));
  let first = 0;
  while (first < digits.length && digits[first] === 0) {
    first++;
    weight--;
  }
  let last = digits.length;
  while (last > first && digits[last - 1] === 0) last--;
  const n = last - first;
  const negative = m[1] === '-' && n > 0;
  out.reserve(12 + n * 2);
  const buf = out.buf;
  let p = out.pos;
  buf.writeInt32BE(8 + n * 2, p);
  buf.writeInt16BE(n, p + 4);
  buf.writeInt16BE(n === 0 ? 0 : weight, p + 6);
  buf.writeUInt16BE(negative ? 0x4000 : 0, p + 8);
  buf.writeInt16BE(fracPart.length, p + 10);
  p += 12;
  for (let i = first; i < last; i++) {
    buf.writeInt16BE(digits[i]!, p);
    p += 2;
  }
  out.pos = p;
}

// ---------------------------------------------------------------------------------------------
// Text format: tab-separated columns, one row per line, `\N` for NULL, backslash escapes for
// backslash, tab, newline and carriage return.
// ---------------------------------------------------------------------------------------------

const TEXT_SPECIAL = /[\\\t\n\r]/;
const TEXT_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};
const TEXT_SPECIAL_ALL = /[\\\t\n\r]/g;

/** The rows of a batch in COPY text format. */
export function encodeCopyText(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Buffer {
  const columns = TABLE_COLUMNS[table];
  const lines = new Array<string>(rows.length + 1);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    let line = '';
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) line += '\t';
      const value = row[c];
      if (value === null || value === undefined) line += '\\N';
      else if (columns[c]!.type === 'bool') line += value ? 't' : 'f';
      else if (typeof value === 'number' && columns[c]!.type === 'timestamptz')
        line += timestampText(value);
      else {
        // Row values are scalars (numbers, strings, booleans) built by the row mapper.
        // eslint-disable-next-line @typescript-eslint/no-base-to-string
        const s = String(value);
        line += TEXT_SPECIAL.test(s) ? s.replace(TEXT_SPECIAL_ALL, (ch) => TEXT_ESCAPES[ch]!) : s;
      }
    }
    lines[r] = line;
  }
  lines[rows.length] = '';
  return Buffer.from(lines.join('\n'), 'utf8');
}
