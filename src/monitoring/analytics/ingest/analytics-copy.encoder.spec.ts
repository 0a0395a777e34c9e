import { copyFromSql, encodeCopyBinary, encodeCopyText } from './analytics-copy.encoder';
import { TABLE_COLUMNS, type AnalyticsRow } from './analytics-tables';

const columns = TABLE_COLUMNS.workflow_analytics;
const at = (name: string) => columns.findIndex((c) => c.name === name);

function row(values: Record<string, unknown>): AnalyticsRow {
  const r = new Array<unknown>(columns.length).fill(null);
  for (const [name, value] of Object.entries(values)) r[at(name)] = value;
  return r;
}

/** Splits COPY binary data into rows of fields (null for NULL), checking header and trailer. */
function fields(data: Buffer): (Buffer | null)[][] {
  expect(data.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  expect(data.readInt32BE(11)).toBe(0);
  expect(data.readInt32BE(15)).toBe(0);
  let p = 19;
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const count = data.readInt16BE(p);
    p += 2;
    if (count === -1) break;
    const values: (Buffer | null)[] = [];
    for (let i = 0; i < count; i++) {
      const length = data.readInt32BE(p);
      p += 4;
      values.push(length === -1 ? null : data.subarray(p, p + length));
      if (length > 0) p += length;
    }
    rows.push(values);
  }
  expect(p).toBe(data.length);
  return rows;
}

describe('COPY encoding', () => {
  it('names the columns in row order', () => {
    expect(copyFromSql('workflow_analytics', 'binary')).toMatch(
      /^COPY "workflow_analytics" \("id", "workflow_id", "run_id", .*\) FROM STDIN \(FORMAT binary\)$/,
    );
  });

  it('writes each type in its binary send format', () => {
    const [r] = fields(
      encodeCopyBinary('workflow_analytics', [
        row({
          id: '0190c5f0-0000-7000-8000-0000000000ab',
          workflow_id: 'ü',
          duration_ms: 1234,
          started_at: '2000-01-01T00:00:00.001Z',
          finished_at: '1999-12-31T23:59:59.999Z',
          cost_cents: '12345.6',
          attributes: '{"a":1}',
        }),
      ]),
    );
    expect(r).toHaveLength(columns.length);
    expect(r![at('id')]!.toString('hex')).toBe('0190c5f0000070008000' + '0000000000ab');
    expect(r![at('workflow_id')]!.toString('utf8')).toBe('ü');
    expect(r![at('duration_ms')]!.readInt32BE(0)).toBe(1234);
    expect(r![at('started_at')]!.readBigInt64BE(0)).toBe(1000n);
    expect(r![at('finished_at')]!.readBigInt64BE(0)).toBe(-1000n);
    // ndigits 3, weight 1, positive, dscale 1: 1 | 2345 . 6000
    const numeric = r![at('cost_cents')]!;
    expect([0, 2, 4, 6, 8, 10, 12].map((o) => numeric.readInt16BE(o))).toEqual([
      3, 1, 0, 1, 1, 2345, 6000,
    ]);
    expect(r![at('attributes')]![0]).toBe(1);
    expect(r![at('attributes')]!.subarray(1).toString()).toBe('{"a":1}');
    expect(r![at('run_id')]).toBeNull();
  });

  it('writes times given as Unix ms (the row mapper) and as ISO text (older journals) alike', () => {
    const [a, b] = fields(
      encodeCopyBinary('workflow_analytics', [
        row({ started_at: Date.parse('2026-03-01T10:15:00.123Z'), finished_at: 946_684_800_001 }),
        row({ started_at: '2026-03-01T10:15:00.123Z', finished_at: '2000-01-01T00:00:00.001Z' }),
      ]),
    );
    // 2026-03-01T10:15:00.123Z is 825,675,300.123 s after 2000-01-01.
    expect(a![at('started_at')]!.readBigInt64BE(0)).toBe(825_675_300_123_000n);
    expect(b![at('started_at')]!.readBigInt64BE(0)).toBe(825_675_300_123_000n);
    expect(a![at('finished_at')]!.readBigInt64BE(0)).toBe(1000n);
    expect(b![at('finished_at')]!.readBigInt64BE(0)).toBe(1000n);
    const text = encodeCopyText('workflow_analytics', [row({ started_at: Date.parse('2026-03-01T10:15:00.123Z') })]);
    expect(text.toString('utf8').split('\t')[at('started_at')]).toBe('2026-03-01T10:15:00.123Z');
  });

  it('reads UUIDs with or without dashes, in either case, and rejects misplaced dashes and non-hex digits', () => {
    const id = (value: string) =>
      fields(encodeCopyBinary('workflow_analytics', [row({ id: value })]))[0]![at('id')]!.toString('hex');
    expect(id('0190C5F0-0000-7000-8000-0000000000AB')).toBe('0190c5f0000070008000' + '0000000000ab');
    expect(id('0190c5f0000070008000' + '0000000000ab')).toBe('0190c5f0000070008000' + '0000000000ab');
    for (const bad of [
      '0190c5f00-000-7000-8000-0000000000ab',
      '0190c5f0-0000-7000-8000-0000000000ag',
      '0190c5f0-0000-7000-8000-0000000000a\u00e9',
      '0190c5f0-0000-7000-8000-0000000000a',
    ]) {
      expect(() => encodeCopyBinary('workflow_analytics', [row({ id: bad })])).toThrow(
        expect.objectContaining({ code: '22P02', message: `workflow_analytics.id: not a UUID: ${bad}` }),
      );
    }
  });

  it('encodes small and negative decimals and zero', () => {
    const numeric = (text: string) => {
      const [r] = fields(encodeCopyBinary('workflow_analytics', [row({ cost_cents: text })]));
      const b = r![at('cost_cents')]!;
      return Array.from({ length: b.length / 2 }, (_, i) => b.readInt16BE(i * 2));
    };
    expect(numeric('0.000000001')).toEqual([1, -3, 0, 9, 1000]);
    expect(numeric('-3.5')).toEqual([2, 0, 0x4000, 1, 3, 5000]);
    expect(numeric('0')).toEqual([0, 0, 0, 0]);
  });

  it('escapes text for the text format and writes NULL as \\N', () => {
    const text = encodeCopyText('workflow_analytics', [
      row({ workflow_id: 'tab\tnew\nline\rback\\slash', run_id: '\\N', duration_ms: 5 }),
    ]).toString('utf8');
    const values = text.slice(0, -1).split('\t');
    expect(text.endsWith('\n')).toBe(true);
    expect(values).toHaveLength(columns.length);
    expect(values[at('workflow_id')]).toBe('tab\\tnew\\nline\\rback\\\\slash');
    expect(values[at('run_id')]).toBe('\\\\N');
    expect(values[at('duration_ms')]).toBe('5');
    expect(values[at('id')]).toBe('\\N');
  });

  it('rejects a value its type cannot hold as a data error (SQLSTATE 22P02)', () => {
    for (const values of [
      { id: 'nope' },
      { started_at: 'yesterday' },
      { cost_cents: '1e-9' },
      { duration_ms: 2 ** 31 },
    ]) {
      expect(() => encodeCopyBinary('workflow_analytics', [row(values)])).toThrow(
        expect.objectContaining({ code: '22P02' }),
      );
    }
  });
});
