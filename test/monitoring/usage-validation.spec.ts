import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { TrackLLM } from '../../src/monitoring';
import { mapEventToRow } from '../../src/monitoring/analytics/ingest/analytics-row.mapper';
import type { LlmCallEvent } from '../../src/monitoring/events/monitoring-event';
import { MAX_TOKENS_PER_CALL, validateUsage } from '../../src/monitoring/llm-usage/usage-validation';
import { PrometheusMetricsSink } from '../../src/monitoring/metrics/prometheus-metrics.sink';
import { startTestRuntime } from '../support/event-capture';
import { parsePrometheusText, sampleValue, type Sample } from '../support/prometheus-text';

/** A provider whose response (and custom usage extractor result) the test chooses. */
class ScriptedProvider {
  readonly provider = 'openai';
  next: { response: unknown; extracted?: unknown } = { response: {} };

  @TrackLLM()
  async complete(_request: { model: string }): Promise<unknown> {
    return this.next.response;
  }

  @TrackLLM({ usage: (result) => (result as { extracted: unknown }).extracted as never })
  async completeWithExtractor(_request: { model: string }): Promise<unknown> {
    return { extracted: this.next.extracted, ...(this.next.response as object) };
  }
}

class ThrowingExtractorProvider {
  readonly provider = 'openai';
  @TrackLLM({
    usage: () => {
      throw new Error('bad extractor');
    },
  })
  async complete() {
    return { model: 'gpt-4o', usage: { prompt_tokens: 1000, completion_tokens: 0 } };
  }
}

/** Row columns of llm_usage holding token counts and cost (see analytics-tables.ts). */
const TOKEN_COLUMNS = [8, 9, 10, 11, 12];
const COST_COLUMN = 13;

describe('token usage is validated once, where the LLM call event is built', () => {
  let ctx: ReturnType<typeof startTestRuntime>;
  let registry: Registry;
  let warn: jest.SpyInstance;
  const provider = new ScriptedProvider();

  beforeEach(() => {
    ctx = startTestRuntime();
    registry = new Registry();
    ctx.fanOut.addSink(new PrometheusMetricsSink(registry, ctx.runtime.options, ctx.fanOut));
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    ctx.stop();
    warn.mockRestore();
  });

  const metrics = async (): Promise<Sample[]> => parsePrometheusText(await registry.metrics());
  const onlyCall = (): LlmCallEvent => {
    const calls = ctx.sink.ofKind('llm_call');
    expect(calls).toHaveLength(1);
    return calls[0]!;
  };
  const row = (e: LlmCallEvent) => mapEventToRow(e)!.row;

  it('negative token counts from the provider are recorded as 0: no negative cost, counters do not go down', async () => {
    provider.next = { response: { model: 'gpt-4o', usage: { prompt_tokens: -30_000_000, completion_tokens: 10 } } };
    await provider.complete({ model: 'gpt-4o' });
    const e = onlyCall();
    expect(e.usage).toEqual({ inputTokens: 0, outputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 });
    expect(e.costNanoCents).toBe(10 * 1_000_000);
    expect(e.usageIssues).toEqual(['negative']);
    expect(row(e)[COST_COLUMN]).toBe('0.01');
    const m = await metrics();
    expect(sampleValue(m, 'magure_llm_tokens_total', { provider: 'openai', model: 'gpt-4o', token_type: 'prompt' })).toBe(0);
    expect(sampleValue(m, 'magure_llm_cost_cents_total', { provider: 'openai', model: 'gpt-4o' })).toBe(0.01);
    expect(sampleValue(m, 'magure_llm_usage_invalid_total', { reason: 'negative' })).toBe(1);
  });

  it('cached tokens above the prompt tokens are cut down to the prompt: a 10-token call costs what 10 cached tokens cost', async () => {
    provider.next = {
      response: { usage: { prompt_tokens: 10, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 60_000_000 } } },
    };
    await provider.complete({ model: 'gpt-4o' });
    const e = onlyCall();
    expect(e.usage).toMatchObject({ inputTokens: 10, cachedInputTokens: 10 });
    // 10 cached tokens of gpt-4o at 0.125 cents / 1K (before: 7,500 cents)
    expect(e.costNanoCents).toBe(10 * 125_000);
    expect(e.usageIssues).toEqual(['cached_exceeds_input']);
    expect(sampleValue(await metrics(), 'magure_llm_usage_invalid_total', { reason: 'cached_exceeds_input' })).toBe(1);
  });

  it.each([
    ['NaN', 'not_finite', { inputTokens: NaN, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 }],
    ['strings', 'not_a_number', { inputTokens: '12', outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 }],
    ['a partial object', 'missing', { outputTokens: 5 }],
    ['Infinity', 'not_finite', { inputTokens: Infinity, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 }],
    ['an absurd count', 'too_large', { inputTokens: MAX_TOKENS_PER_CALL + 1, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 }],
  ])('a usage extractor returning %s leaves finite counters (reason %s)', async (_what, reason, extracted) => {
    provider.next = { response: {}, extracted };
    await provider.completeWithExtractor({ model: 'gpt-4o' });
    const e = onlyCall();
    expect(e.usage).toMatchObject({ inputTokens: 0, outputTokens: 5 });
    expect(e.costNanoCents).toBe(5 * 1_000_000);
    const m = await metrics();
    expect(sampleValue(m, 'magure_llm_tokens_total', { provider: 'openai', model: 'gpt-4o', token_type: 'prompt' })).toBe(0);
    expect(sampleValue(m, 'magure_llm_tokens_total', { provider: 'openai', model: 'gpt-4o', token_type: 'completion' })).toBe(5);
    expect(sampleValue(m, 'magure_llm_cost_cents_total', { provider: 'openai', model: 'gpt-4o' })).toBe(0.005);
    expect(sampleValue(m, 'magure_llm_usage_invalid_total', { reason })).toBe(1);
  });

  it('a usage extractor that throws or returns a non-object: the built-in reader is used and the reason counted', async () => {
    await new ThrowingExtractorProvider().complete();
    provider.next = { response: { usage: { prompt_tokens: 1000, completion_tokens: 0 } }, extracted: 42 };
    await provider.completeWithExtractor({ model: 'gpt-4o' });
    const calls = ctx.sink.ofKind('llm_call');
    expect(calls.map((c) => [c.success, c.usage?.inputTokens, c.costNanoCents, c.usageIssues])).toEqual([
      [true, 1000, 250_000_000, ['extractor_error']],
      [true, 1000, 250_000_000, ['not_an_object']],
    ]);
  });

  it('warns about invalid usage a few times a minute at most', async () => {
    provider.next = { response: { usage: { prompt_tokens: -1, completion_tokens: 1 } } };
    for (let i = 0; i < 500; i++) await provider.complete({ model: 'gpt-4o' });
    const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('invalid token usage'));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(
      'invalid token usage from provider "openai" model "gpt-4o" (negative): the bad counts were recorded as 0 or cut down to fit; see llm_usage_invalid_total',
    );
    expect(sampleValue(await metrics(), 'magure_llm_usage_invalid_total', { reason: 'negative' })).toBe(500);
  });

  describe('property: whatever the usage, nothing stored is negative, NaN or decreasing', () => {
    const count = fc.oneof(
      fc.integer({ min: -1e12, max: 1e12 }),
      fc.double(),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, MAX_TOKENS_PER_CALL, MAX_TOKENS_PER_CALL + 1),
      fc.string({ maxLength: 4 }),
      fc.constantFrom(null, undefined, true, {}, []),
    );
    const tokenUsage = fc.record(
      {
        inputTokens: count,
        outputTokens: count,
        cachedInputTokens: count,
        cacheWriteInputTokens: count,
        reasoningTokens: count,
      },
      { requiredKeys: [] },
    );
    const extracted = fc.oneof(tokenUsage, count, fc.constant(null));
    const openAiUsage = fc.record(
      {
        prompt_tokens: count,
        completion_tokens: count,
        prompt_tokens_details: fc.record({ cached_tokens: count }, { requiredKeys: [] }),
        completion_tokens_details: fc.record({ reasoning_tokens: count }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const anthropicUsage = fc.record(
      { input_tokens: count, output_tokens: count, cache_read_input_tokens: count, cache_creation_input_tokens: count },
      { requiredKeys: [] },
    );
    const model = fc.constantFrom('gpt-4o', 'claude-3-opus', 'gpt-4o-mini', 'no-price-model');

    const isCount = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_TOKENS_PER_CALL;

    it('events, rows and /metrics', async () => {
      let previous = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.record({ kind: fc.constant('extractor' as const), extracted, model }),
            fc.record({ kind: fc.constant('openai' as const), usage: openAiUsage, model }),
            fc.record({ kind: fc.constant('anthropic' as const), usage: anthropicUsage, model }),
          ),
          async (input) => {
            ctx.sink.events.length = 0;
            if (input.kind === 'extractor') {
              provider.next = { response: {}, extracted: input.extracted };
              await provider.completeWithExtractor({ model: input.model });
            } else {
              provider.next = { response: { usage: input.usage } };
              await provider.complete({ model: input.model });
            }
            const e = onlyCall();
            if (e.usage !== null) {
              const u = e.usage;
              for (const v of Object.values(u)) expect(isCount(v)).toBe(true);
              expect(u.cachedInputTokens + u.cacheWriteInputTokens).toBeLessThanOrEqual(u.inputTokens);
              expect(u.reasoningTokens).toBeLessThanOrEqual(u.outputTokens);
            }
            if (e.costNanoCents !== null) {
              expect(Number.isFinite(e.costNanoCents)).toBe(true);
              expect(e.costNanoCents).toBeGreaterThanOrEqual(0);
            }
            const r = row(e);
            for (const i of TOKEN_COLUMNS) expect(isCount(r[i])).toBe(true);
            const cost = r[COST_COLUMN];
            if (cost !== null) expect(cost).toMatch(/^\d+(\.\d+)?$/);
            const now = new Map<string, number>();
            for (const s of await metrics()) {
              if (s.name.endsWith('_bucket') || s.name.endsWith('_sum') || s.name.endsWith('_count')) continue;
              const key = `${s.name}${JSON.stringify(s.labels)}`;
              expect(Number.isFinite(s.value)).toBe(true);
              expect(s.value).toBeGreaterThanOrEqual(previous.get(key) ?? 0);
              now.set(key, s.value);
            }
            previous = now;
          },
        ),
        { numRuns: 300 },
      );
    });

    it('validateUsage itself, on any value', () => {
      fc.assert(
        fc.property(fc.oneof(tokenUsage, fc.anything()), (raw) => {
          const { usage, issues } = validateUsage(raw);
          if (usage === null) return;
          for (const v of Object.values(usage)) expect(isCount(v)).toBe(true);
          expect(usage.cachedInputTokens + usage.cacheWriteInputTokens).toBeLessThanOrEqual(usage.inputTokens);
          expect(new Set(issues).size).toBe(issues.length);
        }),
        { numRuns: 2000 },
      );
    });
  });
});
