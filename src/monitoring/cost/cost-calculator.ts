import { Logger } from '@nestjs/common';
import { calcPrice } from '@pydantic/genai-prices';
import { BoundedCache } from '../bounds/bounded-cache';
import { RateLimitedWarning } from '../bounds/rate-limited-warning';
import type { TokenUsage } from '../events/monitoring-event';
import { DEFAULT_PRICING, modelFamilies, type ModelPrice } from './pricing-table';

/** Per-token prices in billionths of a cent: integers, so sums stay exact. */
interface NanoCentPrice {
  input: number;
  output: number;
  cachedInput: number;
  cacheWrite: number;
}

const NANO_CENTS_PER_CENT_PER_1K_TOKENS = 1_000_000; // 1 cent / 1000 tokens = 1e6 nano-cents per token
const NANO_CENTS_PER_USD = 100_000_000_000;

function toNanoCents(price: ModelPrice): NanoCentPrice {
  const n = (cents: number) => Math.round(cents * NANO_CENTS_PER_CENT_PER_1K_TOKENS);
  return {
    input: n(price.input),
    output: n(price.output),
    cachedInput: n(price.cachedInput ?? price.input),
    cacheWrite: n(price.cacheWrite ?? price.input),
  };
}

/**
 * Most model names whose price lookup is remembered (per cache). Model names come from requests
 * and responses; without a cap, a stream of distinct names grows the heap forever.
 */
export const PRICE_CACHE_CAPACITY = 1_000;

/** Names longer than this are looked up every time instead of being remembered. */
const MAX_CACHED_MODEL_NAME_LENGTH = 256;

/** Where a price came from. */
export type PriceSource = 'override' | 'table' | 'catalogue';

export interface CostCalculatorOptions {
  /** User prices; they win over the table and the catalogue. */
  overrides?: Record<string, ModelPrice>;
  /** Fall back to the bundled `@pydantic/genai-prices` catalogue. Default true. */
  catalogue?: boolean;
}

/**
 * Computes the cost of an LLM call from its token usage. Table and override prices are applied in
 * integer nano-cents, so 10,000 calls of 0.0015 cents add up to exactly 15 cents. Models missing
 * from both are looked up in the bundled price catalogue (no network); unknown models cost `null`.
 */
export class CostCalculator {
  private readonly warnings = new RateLimitedWarning(new Logger('Monitoring'));
  private readonly prices = new Map<string, { price: NanoCentPrice; source: PriceSource }>();
  private readonly resolved = new BoundedCache<string, { price: NanoCentPrice; source: PriceSource } | null>(
    PRICE_CACHE_CAPACITY,
  );
  private readonly warnedUnknown = new BoundedCache<string, true>(PRICE_CACHE_CAPACITY);
  private readonly catalogue: boolean;

  constructor(options: CostCalculatorOptions = {}) {
    for (const [model, price] of Object.entries(DEFAULT_PRICING)) {
      this.prices.set(model, { price: toNanoCents(price), source: 'table' });
    }
    for (const [model, price] of Object.entries(options.overrides ?? {})) {
      this.prices.set(model, { price: toNanoCents(price), source: 'override' });
    }
    this.catalogue = options.catalogue ?? true;
  }

  /**
   * Cost in nano-cents (billionths of a US cent), or null when the model has no known price.
   * `provider` helps the catalogue disambiguate.
   */
  costNanoCents(provider: string, model: string, usage: TokenUsage): number | null {
    const entry = this.lookup(model);
    if (entry) return this.apply(entry.price, usage);
    if (this.catalogue) {
      const fromCatalogue = this.fromCatalogue(provider, model, usage);
      if (fromCatalogue !== null) return fromCatalogue;
    }
    // Once per model while it is remembered, and a few lines a minute at most whatever the names.
    if (!this.warnedUnknown.has(model)) {
      if (model.length <= MAX_CACHED_MODEL_NAME_LENGTH) this.warnedUnknown.set(model, true);
      const name = model.length > 128 ? `${model.slice(0, 128)}…` : model;
      this.warnings.warn(
        `no price known for model "${name}" (provider "${provider}"): its cost is recorded as unknown; add it to the "pricing" option`,
      );
    }
    return null;
  }

  /** Where the price of `model` comes from, or undefined when the table and overrides lack it. */
  priceSource(model: string): PriceSource | undefined {
    return this.lookup(model)?.source;
  }

  private lookup(model: string) {
    const cached = this.resolved.get(model);
    if (cached !== undefined) return cached;
    let found: { price: NanoCentPrice; source: PriceSource } | null = null;
    for (const key of modelFamilies(model)) {
      const hit = this.prices.get(key);
      if (hit) {
        found = hit;
        break;
      }
    }
    if (model.length <= MAX_CACHED_MODEL_NAME_LENGTH) this.resolved.set(model, found);
    return found;
  }

  private apply(price: NanoCentPrice, usage: TokenUsage): number {
    const cached = usage.cachedInputTokens;
    const written = usage.cacheWriteInputTokens;
    const plain = Math.max(0, usage.inputTokens - cached - written);
    return (
      plain * price.input +
      cached * price.cachedInput +
      written * price.cacheWrite +
      usage.outputTokens * price.output
    );
  }

  /** Catalogue prices per model, converted once when they are flat per-token rates. */
  private readonly cataloguePrices = new BoundedCache<string, NanoCentPrice | 'tiered' | null>(PRICE_CACHE_CAPACITY);

  private fromCatalogue(provider: string, model: string, usage: TokenUsage): number | null {
    const key = `${provider}\u0000${model}`;
    let entry = this.cataloguePrices.get(key);
    if (entry === undefined) {
      entry = this.findInCatalogue(provider, model, usage);
      if (key.length <= MAX_CACHED_MODEL_NAME_LENGTH * 2) this.cataloguePrices.set(key, entry);
    }
    if (entry === null) return null;
    if (entry !== 'tiered') return this.apply(entry, usage);
    const result = this.catalogueCall(provider, model, usage);
    return result ? Math.round(result.total_price * NANO_CENTS_PER_USD) : null;
  }

  private findInCatalogue(provider: string, model: string, usage: TokenUsage): NanoCentPrice | 'tiered' | null {
    const result = this.catalogueCall(provider, model, usage);
    if (!result) return null;
    const p = result.model_price ?? {};
    const flat = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const input = flat(p.input_mtok);
    const output = flat(p.output_mtok);
    if (input === undefined || output === undefined) return 'tiered';
    for (const k of ['cache_read_mtok', 'cache_write_mtok'] as const) {
      if (p[k] !== undefined && flat(p[k]) === undefined) return 'tiered';
    }
    // USD per million tokens -> nano-cents per token: x * 1e11 / 1e6.
    const n = (usd: number) => Math.round(usd * 100_000);
    return {
      input: n(input),
      output: n(output),
      cachedInput: n(flat(p.cache_read_mtok) ?? input),
      cacheWrite: n(flat(p.cache_write_mtok) ?? input),
    };
  }

  private catalogueCall(
    provider: string,
    model: string,
    usage: TokenUsage,
  ): { total_price: number; model_price?: Record<string, unknown> } | null {
    const u = {
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cache_read_tokens: usage.cachedInputTokens,
      cache_write_tokens: usage.cacheWriteInputTokens,
    };
    try {
      // Retry without the provider hint: custom provider names are common.
      const result = (calcPrice(u, model, { providerId: provider }) ?? calcPrice(u, model)) as unknown as {
        total_price?: unknown;
        model_price?: Record<string, unknown>;
      } | null;
      if (!result || typeof result.total_price !== 'number') return null;
      return { total_price: result.total_price, model_price: result.model_price };
    } catch {
      return null;
    }
  }
}
