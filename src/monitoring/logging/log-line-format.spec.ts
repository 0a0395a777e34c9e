import fc from 'fast-check';
import { JsonLine, jsonString } from './log-line-format';

describe('log line format', () => {
  it('encodes every string exactly as JSON.stringify does (controls, quotes, backslashes, lone and paired surrogates, non-ASCII)', () => {
    for (const s of ['', 'plain-id_1.2:3', 'a"b', 'a\\b', '\n\t\u0000\u001f', '\ud800', 'x\udfff', '😀', 'é€', '\u2028'])
      expect(jsonString(s)).toBe(JSON.stringify(s));
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => jsonString(s) === JSON.stringify(s)),
      { numRuns: 5000 },
    );
  });

  it('builds lines that parse back to the fields given', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), fc.integer(), (a, b, n) => {
        const line = new JsonLine('info', 0);
        line.str('a', a);
        line.str('b', b);
        line.num('n', n);
        const parsed = JSON.parse(line.end()) as Record<string, unknown>;
        return parsed.a === a && parsed.b === b && parsed.n === n;
      }),
      { numRuns: 2000 },
    );
  });
});
