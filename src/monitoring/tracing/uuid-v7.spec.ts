import { UuidV7Generator, uuidV7 } from './uuid-v7';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidV7', () => {
  it('is a version 7, RFC 4122 variant UUID carrying the time in its first 48 bits', () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
    const id = new UuidV7Generator().next(now);
    expect(id).toMatch(UUID_V7);
    expect(timeOf(id)).toBe(now);
    const before = Date.now();
    const fresh = uuidV7();
    expect(fresh).toMatch(UUID_V7);
    expect(timeOf(fresh)).toBeGreaterThanOrEqual(before);
    expect(timeOf(fresh)).toBeLessThanOrEqual(Date.now());
  });

  it('sorts in creation order and does not repeat, within a millisecond, past 4,096 ids a millisecond and when the clock goes back', () => {
    const generator = new UuidV7Generator();
    const ms = 1_700_000_000_000;
    const ids = [
      ...Array.from({ length: 10_000 }, () => generator.next(ms)),
      ...Array.from({ length: 100 }, () => generator.next(ms - 5_000)),
      ...Array.from({ length: 20_000 }, (_, i) => generator.next(ms + 10 + Math.floor(i / 100))),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(timeOf(ids[0]!)).toBe(ms);
    expect(timeOf(ids[9_999]!)).toBe(ms + 2); // 4,096 ids per millisecond, then the next one
  });

  it('keeps the ids of two processes apart by their random bits', () => {
    const a = new UuidV7Generator(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const b = new UuidV7Generator(new Uint8Array([9, 2, 3, 4, 5, 6, 7, 8]));
    const now = Date.now();
    expect(a.next(now)).not.toBe(b.next(now));
    expect(a.next(now).slice(0, 18)).toBe(b.next(now).slice(0, 18));
  });
});
