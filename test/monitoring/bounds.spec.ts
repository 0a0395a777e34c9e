import { Logger } from '@nestjs/common';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { BoundedCache } from '../../src/monitoring/bounds/bounded-cache';
import { RateLimitedWarning } from '../../src/monitoring/bounds/rate-limited-warning';
import { CostCalculator, PRICE_CACHE_CAPACITY } from '../../src/monitoring/cost/cost-calculator';
import { EventFanOut } from '../../src/monitoring/events/event-fan-out';
import type { LlmCallEvent } from '../../src/monitoring/events/monitoring-event';
import { truncateLabelValue } from '../../src/monitoring/metrics/label-value-limiter';
import { PrometheusMetricsSink } from '../../src/monitoring/metrics/prometheus-metrics.sink';
import { resolveMonitoringOptions } from '../../src/monitoring/monitoring-options.resolver';
import { parsePrometheusText } from '../support/prometheus-text';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection. */
function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;
const usage = { inputTokens: 100, outputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 };

describe('bounded memory and output whatever the model names', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('the cost calculator keeps a bounded cache: 200,000 distinct model names grow the heap by less than 4 MiB', () => {
    // Without the catalogue: looking 200,000 names up in it takes a minute; its cache has the same cap.
    const calc = new CostCalculator({ catalogue: false });
    // Warm up: the code paths and the first cache entries.
    for (let i = 0; i < 2_000; i++) calc.costNanoCents('openai', `warm-${i}`, usage);
    const before = heapUsed();
    for (let i = 0; i < 200_000; i++) calc.costNanoCents('openai', `tenant-model-${i}-${'x'.repeat(40)}`, usage);
    const grown = heapUsed() - before;
    // Before the cap: ~200 B per name, +39 MiB.
    expect(grown).toBeLessThan(4 * MiB);
    // Known models still resolve after the churn.
    expect(calc.costNanoCents('openai', 'gpt-4o', usage)).toBe(100 * 250_000 + 10 * 1_000_000);
    expect(PRICE_CACHE_CAPACITY).toBe(1_000);
  });

  it('60,000 unknown models log at most 10 warnings a minute, then one summary line', () => {
    let now = 0;
    const lines: string[] = [];
    const warnings = new RateLimitedWarning({ warn: (m) => lines.push(m) }, 10, 60_000, () => now);
    for (let i = 0; i < 60_000; i++) warnings.warn(`no price known for model "m-${i}"`);
    expect(lines).toHaveLength(10);
    now = 60_000;
    warnings.warn('next');
    expect(lines.slice(10)).toEqual(['59990 similar warnings were suppressed in the last 60 s', 'next']);

    // The calculator uses it: 60,000 unknown models, 10 lines.
    const calc = new CostCalculator({ catalogue: false });
    for (let i = 0; i < 60_000; i++) calc.costNanoCents('acme', `unknown-${i}`, usage);
    const logged = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('no price known'));
    expect(logged).toHaveLength(10);
    expect(logged[0]).toBe(
      'no price known for model "unknown-0" (provider "acme"): its cost is recorded as unknown; add it to the "pricing" option',
    );
  });

  it('BoundedCache evicts the least recently used entry', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).toEqual([1, undefined, 3, 2]);
  });

  it('label values are cut to 128 characters, deterministically, keeping distinct values distinct', () => {
    const long = 'm'.repeat(8_000);
    const cut = truncateLabelValue(long, 128);
    expect(cut).toHaveLength(128);
    expect(cut).toBe(truncateLabelValue(long, 128));
    expect(cut).toMatch(/^m{119}~[0-9a-f]{8}$/);
    expect(truncateLabelValue(`${long}a`, 128)).not.toBe(cut);
    expect(truncateLabelValue('gpt-4o', 128)).toBe('gpt-4o');
  });

  it('/metrics with 250 model names of 8,000 characters stays small', async () => {
    const registry = new Registry();
    const options = resolveMonitoringOptions({ defaultMetricsEnabled: false, maxLabelValues: 1_000 }, {});
    const sink = new PrometheusMetricsSink(registry, options, new EventFanOut());
    for (let i = 0; i < 250; i++) {
      const event: LlmCallEvent = {
        kind: 'llm_call',
        startedAt: new Date(),
        durationMs: 12,
        context: {},
        success: true,
        provider: 'openai',
        model: `${String(i).padStart(3, '0')}${'x'.repeat(7_997)}`,
        usage,
        costNanoCents: 1_000_000,
        streamed: false,
      };
      sink.record(event);
    }
    const text = await registry.metrics();
    // Before the cap: 44.3 MiB (render time follows the size: 337 ms before, 122 ms after, on an
    // idle machine; not asserted, the CPUs running the tests are shared).
    expect(Buffer.byteLength(text)).toBeLessThan(1.5 * MiB);
    const requests = parsePrometheusText(text).filter((s) => s.name === 'magure_llm_requests_total');
    expect(requests).toHaveLength(250);
    expect(new Set(requests.map((s) => s.labels.model)).size).toBe(250);
    for (const s of requests) expect(s.labels.model).toHaveLength(128);
  });

  it('the label value length is an option (maxLabelValueLength, env METRICS_MAX_LABEL_VALUE_LENGTH)', () => {
    expect(resolveMonitoringOptions({}, {}).maxLabelValueLength).toBe(128);
    expect(resolveMonitoringOptions({}, { METRICS_MAX_LABEL_VALUE_LENGTH: '64' }).maxLabelValueLength).toBe(64);
    expect(() => resolveMonitoringOptions({ maxLabelValueLength: 3 }, {})).toThrow(/maxLabelValueLength/);
  });
});
