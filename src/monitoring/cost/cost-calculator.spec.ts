import { formatNanoCentsAsCents, nanoCentsToCents, type TokenUsage } from '../events/monitoring-event';
import { CostCalculator } from './cost-calculator';
import { DEFAULT_PRICING, modelFamilies } from './pricing-table';

const usage = (input: number, output: number, extra: Partial<TokenUsage> = {}): TokenUsage => ({
  inputTokens: input,
  outputTokens: output,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  reasoningTokens: 0,
  ...extra,
});

describe('CostCalculator', () => {
  const calc = new CostCalculator({ catalogue: false });

  it.each([
    ['gpt-4o', 0.25, 1.0],
    ['gpt-4o-mini', 0.015, 0.06],
    ['gpt-4-turbo', 1.0, 3.0],
    ['o1-preview', 1.5, 6.0],
    ['claude-3-5-sonnet', 0.3, 1.5],
    ['claude-3-opus', 1.5, 7.5],
    ['claude-3-haiku', 0.025, 0.125],
  ])('prices %s at the design table (%s / %s cents per 1K tokens)', (model, input, output) => {
    expect(DEFAULT_PRICING[model]).toMatchObject({ input, output });
    expect(nanoCentsToCents(calc.costNanoCents('x', model, usage(1000, 0))!)).toBeCloseTo(input, 12);
    expect(nanoCentsToCents(calc.costNanoCents('x', model, usage(0, 1000))!)).toBeCloseTo(output, 12);
  });

  it('resolves dated snapshot names to their family', () => {
    expect(modelFamilies('gpt-4o-2024-08-06')).toContain('gpt-4o');
    expect(modelFamilies('claude-3-5-sonnet-20241022')).toContain('claude-3-5-sonnet');
    expect(calc.costNanoCents('openai', 'gpt-4o-2024-08-06', usage(1000, 1000))).toBe(calc.costNanoCents('openai', 'gpt-4o', usage(1000, 1000)));
    expect(calc.costNanoCents('anthropic', 'claude-3-5-sonnet-20241022', usage(2000, 0))).toBe(600_000_000);
    expect(calc.costNanoCents('openai', 'openai/gpt-4o-mini', usage(1000, 0))).toBe(15_000_000);
    // a different model that merely starts with a known name is not priced as it
    expect(calc.priceSource('gpt-4o-audio-preview')).toBeUndefined();
  });

  it('lets user overrides win, including for snapshot families', () => {
    const custom = new CostCalculator({ overrides: { 'gpt-4o': { input: 1, output: 2 }, 'my-model': { input: 0.5, output: 0.5 } }, catalogue: false });
    expect(custom.costNanoCents('openai', 'gpt-4o-2024-08-06', usage(1000, 1000))).toBe(3 * 1e9);
    expect(custom.costNanoCents('local', 'my-model', usage(2000, 0))).toBe(1e9);
    expect(custom.priceSource('gpt-4o')).toBe('override');
  });

  it('prices cached input where the table has a cached price', () => {
    // gpt-4o: 0.25 input, 0.125 cached; 1000 input of which 400 cached
    expect(calc.costNanoCents('openai', 'gpt-4o', usage(1000, 0, { cachedInputTokens: 400 }))).toBe(600 * 250_000 + 400 * 125_000);
    // gpt-4-turbo has no cached price: cached tokens cost plain input
    expect(calc.costNanoCents('openai', 'gpt-4-turbo', usage(1000, 0, { cachedInputTokens: 400 }))).toBe(1000 * 1_000_000);
  });

  it('records unknown models as unknown (null), not 0', () => {
    expect(calc.costNanoCents('acme', 'acme-unknown-1', usage(10, 10))).toBeNull();
  });

  it('keeps fractional cents exactly: 10,000 gpt-4o-mini calls of 100 prompt tokens cost 15 cents', () => {
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += calc.costNanoCents('openai', 'gpt-4o-mini', usage(100, 0))!;
    expect(total).toBe(15 * 1e9);
    expect(formatNanoCentsAsCents(total)).toBe('15');
    expect(formatNanoCentsAsCents(calc.costNanoCents('openai', 'gpt-4o-mini', usage(100, 0))!)).toBe('0.0015');
  });

  it('falls back to the bundled price catalogue for models outside the table', () => {
    const withCatalogue = new CostCalculator();
    // gpt-4.1 is not in the design table; the catalogue prices it at $2 / $8 per million tokens
    expect(withCatalogue.costNanoCents('openai', 'gpt-4.1', usage(1_000_000, 0))).toBe(200 * 1e9);
    expect(withCatalogue.costNanoCents('openai', 'gpt-4.1', usage(0, 1_000_000))).toBe(800 * 1e9);
    expect(withCatalogue.costNanoCents('acme', 'acme-unknown-2', usage(10, 10))).toBeNull();
  });
});

describe('formatNanoCentsAsCents', () => {
  it.each([
    [0, '0'],
    [1, '0.000000001'],
    [1_500_000, '0.0015'],
    [15_000_000_000, '15'],
    [123_456_789_012, '123.456789012'],
    [-2_500_000_000, '-2.5'],
    [Number.MAX_SAFE_INTEGER, '9007199.254740991'],
  ])('formats %d nano-cents as "%s" cents', (nano, text) => {
    expect(formatNanoCentsAsCents(nano)).toBe(text);
  });
});
