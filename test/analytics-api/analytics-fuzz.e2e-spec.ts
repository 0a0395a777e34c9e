import fc from 'fast-check';
import request from 'supertest';
import { reaggregateAll, startModuleApp, type ModuleApp } from './support/analytics-module-app';
import { generateWorkload, insertWorkload } from './support/workload';

const ENDPOINTS = [
  'summary',
  'token-usage',
  'costs',
  'costs/by-tenant',
  'costs/by-user',
  'timeseries',
  'agent-success-rate',
  'agents',
  'workflows',
  'runs',
];

const KNOWN_KEYS = [
  'hours', 'from', 'to', 'limit', 'metric', 'bucket', 'sort', 'order', 'status',
  'provider', 'model', 'agent_id', 'agent_type', 'workflow_id', 'tenant_id', 'user_id', 'kind', 'cursor',
];
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', '[]', 'hours[]', 'a.b'];

const NAMES_A_PARAMETER = new RegExp(
  `^(property [\\s\\S]* should not exist$|(${KNOWN_KEYS.join('|')}) |the range (from\\.\\.to|has \\d+ (hour|day) buckets))`,
);

/**
 * Percent-encodes what an HTTP client must not send raw and keeps the rest as is ("+" included).
 * A lone surrogate has no UTF-8 form: it is sent as the bytes of U+FFFD, as a browser would.
 */
function encodeLoosely(text: string): string {
  return Array.from(text)
    .map((ch) => {
      if (/^[A-Za-z0-9\-._~!$'()*,;:@/?+]$/.test(ch)) return ch;
      try {
        return encodeURIComponent(ch);
      } catch {
        return '%EF%BF%BD';
      }
    })
    .join('');
}

const value = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.integer({ min: 0, max: 100_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom('', '0', '1', '24', '720', '87600', '87601', '1e3', '0x10', '-0', 'NaN', 'Infinity', 'null', 'undefined', 'true'),
  fc.constantFrom('cost', 'tokens', 'calls', 'errors', 'hour', 'day', 'week', 'asc', 'desc', 'latency', 'success_rate', 'completed', 'failed', 'timeout'),
  fc.date({ min: new Date('1960-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ min: new Date('1960-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom('2025-02-29', '2024-02-29', '2025-03-01T25:00:00Z', '2025-03-01T10:00:00+25:00', '2025-03-01T10:00', '2025-03-01T10:00:00.123456789-03:30', '9999-12-31T23:59:59Z'),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom("x' OR '1'='1", '"; DROP TABLE llm_usage; --', '\u0000', '%', 'a'.repeat(250), '😀', '\ud800'),
);

const pair = fc.tuple(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 12 })), value);

/** Raw query strings: encoded pairs, sometimes with malformed percent sequences spliced in. */
const queryString = fc
  .tuple(
    fc.array(pair, { maxLength: 8 }),
    fc.array(fc.constantFrom('%', '%G1', '%E0%A4', '%ED%A0%80', '%C0%AF', '&&', '==', '&=x', '%00=%00'), { maxLength: 2 }),
  )
  .map(([pairs, junk]) => [...pairs.map(([k, v]) => `${encodeLoosely(k)}=${encodeLoosely(v)}`), ...junk].join('&'));

describe('analytics API: random query strings never produce a 500', () => {
  let m: ModuleApp;

  beforeAll(async () => {
    m = await startModuleApp('pglite');
    const now = Date.now();
    await insertWorkload(m.source, generateWorkload({ seed: 11, from: new Date(now - 30 * 3_600_000), to: new Date(now - 1000), llm: 300, agents: 100, workflows: 50 }));
    await reaggregateAll(m);
  }, 60_000);

  afterAll(async () => {
    await m?.close();
  });

  it('answers 200 or a 400 naming a parameter, for any query', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), queryString, async (endpoint, query) => {
        const res = await request(m.app.getHttpServer()).get(`/api/analytics/${endpoint}?${query}`);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        if (res.status === 200) return;
        expect(res.status).toBe(400);
        expect(res.body.statusCode).toBe(400);
        expect(typeof res.body.message).toBe('string');
        // Problems are joined by "; " (a parameter name may itself contain "; ").
        const messages: string[] = String(res.body.message).split(
          /; (?=property |(?:hours|from|to|limit|metric|bucket|sort|order|status|provider|model|agent_id|agent_type|workflow_id|tenant_id|user_id|kind|cursor) |the range )/,
        );
        expect(messages.length).toBeGreaterThan(0);
        // Each message names the parameter it is about.
        for (const message of messages) expect(message).toMatch(NAMES_A_PARAMETER);
      }),
      // A fixed seed keeps the run reproducible; FC_SEED explores other cases.
      { numRuns: 400, seed: Number(process.env['FC_SEED'] ?? 20251130) },
    );
    // Both outcomes occurred: the generator reaches valid and invalid queries.
    expect(seen.get(200)).toBeGreaterThan(0);
    expect(seen.get(400)).toBeGreaterThan(0);
  });

  it('answers every known-hostile key without a 500', async () => {
    for (const key of NASTY_KEYS) {
      for (const endpoint of ENDPOINTS) {
        const res = await request(m.app.getHttpServer()).get(`/api/analytics/${endpoint}?${encodeLoosely(key)}=1&metric=cost`);
        expect([endpoint, key, res.status < 500]).toEqual([endpoint, key, true]);
      }
    }
  });
});
