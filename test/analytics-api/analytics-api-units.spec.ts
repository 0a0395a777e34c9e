import { moneyFromNano, parseCentsToNano } from '../../src/monitoring/analytics/api/analytics-money';
import { parseIsoInstant, planRange, resolveRange } from '../../src/monitoring/analytics/api/analytics-range';
import { RollupHourCache } from '../../src/monitoring/analytics/api/analytics-rollup-hour.cache';
import { mountPrefix } from '../../src/monitoring/analytics/ui/analytics-ui.controller';
import { tokensMatch } from '../../src/monitoring/analytics/api/analytics-auth.guard';

const H = 3_600_000;
const at = (s: string) => new Date(s);

describe('exact money', () => {
  it('parses numeric strings into billionths of a cent and formats cents and dollars exactly', () => {
    expect(parseCentsToNano('12.345000000')).toBe(12_345_000_000n);
    expect(parseCentsToNano('0.000000001')).toBe(1n);
    expect(parseCentsToNano('-1.5')).toBe(-1_500_000_000n);
    expect(parseCentsToNano('7')).toBe(7_000_000_000n);
    expect(parseCentsToNano(null)).toBe(0n);
    expect(parseCentsToNano('1.1234567890')).toBe(1_123_456_789n);
    expect(() => parseCentsToNano('1.1234567891')).toThrow('more than 9 decimals of cents');
    expect(() => parseCentsToNano('abc')).toThrow('not a decimal number of cents');
    expect(moneyFromNano(123_456_789_012_345_678n)).toEqual({
      cents: '123456789.012345678',
      usd: '1234567.89012345678',
      centsValue: Number('123456789.012345678'),
      usdValue: Number('1234567.89012345678'),
    });
    expect(moneyFromNano(1n).usd).toBe('0.00000000001');
    expect(moneyFromNano(-5n).cents).toBe('-0.000000005');
  });
});

describe('ranges', () => {
  it('parses ISO 8601 instants strictly', () => {
    expect(parseIsoInstant('2025-03-01')).toEqual(at('2025-03-01T00:00:00Z'));
    expect(parseIsoInstant('2025-03-01T22:30:15.250Z')).toEqual(at('2025-03-01T22:30:15.250Z'));
    expect(parseIsoInstant('2025-03-01T23:30+01:00')).toEqual(at('2025-03-01T22:30:00Z'));
    expect(parseIsoInstant('2025-03-01T23:30:00 0100')).toEqual(at('2025-03-01T22:30:00Z'));
    expect(parseIsoInstant('2025-03-01T05:00:00-05:30')).toEqual(at('2025-03-01T10:30:00Z'));
    expect(parseIsoInstant('2024-02-29')).toEqual(at('2024-02-29T00:00:00Z'));
    for (const bad of ['2025-02-29', '2025-02-30', '2025-03-01T10:00', '2025-03-01T24:00Z', '2025-03-01T10:60Z', '1969-12-31', '2025-3-1', 'now', '', '2025-03-01T10:00+24:00']) {
      expect([bad, parseIsoInstant(bad)]).toEqual([bad, null]);
    }
  });

  it('resolves hours / from / to', () => {
    const now = at('2025-03-02T10:20:30Z');
    expect(resolveRange({}, now)).toEqual({ from: at('2025-03-01T10:20:30Z'), to: now });
    expect(resolveRange({ hours: 2, to: '2025-03-01' }, now)).toEqual({ from: at('2025-02-28T22:00:00Z'), to: at('2025-03-01') });
    expect(resolveRange({ from: '2025-03-02T10:00:00Z' }, now)).toEqual({ from: at('2025-03-02T10:00:00Z'), to: now });
    expect(() => resolveRange({ from: '2025-03-03' }, now)).toThrow('from must be earlier than now');
  });

  it('splits a range into rolled-up whole hours and raw edges', () => {
    const range = { from: at('2025-03-01T22:30:00Z'), to: at('2025-03-02T01:45:00Z') };
    expect(planRange(range, at('2025-03-02T01:00:00Z'))).toEqual({
      ...range,
      rollup: { from: at('2025-03-01T23:00:00Z'), to: at('2025-03-02T01:00:00Z') },
      raw: [
        { from: range.from, to: at('2025-03-01T23:00:00Z') },
        { from: at('2025-03-02T01:00:00Z'), to: range.to },
      ],
    });
    // Aggregator behind: the hours it has not closed are raw.
    expect(planRange(range, at('2025-03-02T00:00:00Z')).raw[1]).toEqual({ from: at('2025-03-02T00:00:00Z'), to: range.to });
    // No progress, or no whole hour: all raw.
    expect(planRange(range, null)).toEqual({ ...range, rollup: null, raw: [range] });
    const short = { from: at('2025-03-01T22:10:00Z'), to: at('2025-03-01T23:50:00Z') };
    expect(planRange(short, at('2025-03-05T00:00:00Z'))).toEqual({ ...short, rollup: null, raw: [short] });
    // Aligned on hours: no raw piece.
    const aligned = { from: at('2025-03-01T20:00:00Z'), to: at('2025-03-01T23:00:00Z') };
    expect(planRange(aligned, at('2025-03-05T00:00:00Z'))).toEqual({ ...aligned, rollup: aligned, raw: [] });
  });
});

describe('RollupHourCache', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ k0: String(i) }));
  const span = (from: number, to: number, n = 1) => new Map(Array.from({ length: to - from }, (_, i) => [(from + i) * H, rows(n)]));

  it('drops the hours an aggregator run may have rebuilt, and everything on a reset', () => {
    const cache = new RollupHourCache(1000, 3);
    cache.observe(99 * H, 1);
    cache.store('s', span(0, 100));
    expect(cache.size).toBe(100);
    cache.observe(99 * H, 1); // no run
    expect(cache.get('s', 99 * H)).toBeDefined();
    cache.observe(100 * H, 2); // a run: previous closed 99 + 1 - (3 + 1) = hours 96..99 dropped
    expect([95, 96, 99].map((h) => cache.get('s', h * H) !== undefined)).toEqual([true, false, false]);
    expect(cache.size).toBe(96);
    cache.observe(50 * H, 3); // went back: reset
    expect(cache.size).toBe(0);
    cache.store('s', span(0, 10));
    cache.observe(null, null); // progress row gone
    expect(cache.size).toBe(0);
  });

  it('reuses the merged result of a range until one of its hours changes', () => {
    const cache = new RollupHourCache(1000, 3);
    cache.observe(9 * H, 1);
    cache.setMerged('s/hour', 's', 0, 10 * H, 'nothing cached yet');
    expect(cache.getMerged('s/hour', 0, 10 * H)).toBeUndefined();
    cache.store('s', span(0, 10));
    cache.setMerged('s/hour', 's', 0, 10 * H, 'by hour');
    cache.setMerged('s/day', 's', 0, 10 * H, 'by day');
    expect([cache.getMerged('s/hour', 0, 10 * H), cache.getMerged('s/day', 0, 10 * H)]).toEqual(['by hour', 'by day']);
    expect(cache.getMerged('s/hour', H, 10 * H)).toBeUndefined();
    cache.observe(10 * H, 2); // a run drops hours 6..9
    expect(cache.getMerged('s/hour', 0, 10 * H)).toBeUndefined();
    expect(cache.getMerged('s/day', 0, 10 * H)).toBeUndefined();
    cache.store('s', span(6, 11));
    cache.setMerged('s/hour', 's', H, 11 * H, 'next');
    expect(cache.getMerged('s/hour', H, 11 * H)).toBe('next');
    cache.store('s', span(10, 11));
    expect(cache.getMerged('s/hour', H, 11 * H)).toBeUndefined();
  });

  it('evicts least recently used shapes beyond maxRows, expires entries, and can be off', () => {
    let now = 0;
    const cache = new RollupHourCache(30, 3, 10 * H, () => now);
    cache.store('a', span(0, 10));
    cache.store('b', span(0, 10));
    cache.touch('a');
    cache.store('c', span(0, 10, 2)); // 20 more rows: 'b' (least recently used) goes
    expect([cache.get('a', 0), cache.get('b', 0), cache.get('c', 0)].map((r) => r !== undefined)).toEqual([true, false, true]);
    expect(cache.size).toBe(30);
    now = 11 * H;
    expect(cache.get('a', 0)).toBeUndefined();
    const off = new RollupHourCache(0, 3);
    off.store('a', span(0, 10));
    expect(off.size).toBe(0);
  });
});

describe('small helpers', () => {
  it('finds the global prefix in front of the page path', () => {
    expect(mountPrefix('/v1/api/analytics/ui?x=1', '/api/analytics/ui')).toBe('/v1');
    expect(mountPrefix('/api/analytics/ui/', '/api/analytics/ui')).toBe('');
  });

  it('compares tokens by content and length', () => {
    expect(tokensMatch('a'.repeat(20), 'a'.repeat(20))).toBe(true);
    expect(tokensMatch('a'.repeat(20), 'a'.repeat(21))).toBe(false);
    expect(tokensMatch('', 'x')).toBe(false);
  });
});
