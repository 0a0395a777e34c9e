/**
 * Price of one model in US cents per 1,000 tokens (the unit of the design's pricing table).
 * `cachedInput` prices prompt-cache reads, `cacheWrite` prompt-cache writes; when absent those
 * tokens are priced as plain input.
 */
export interface ModelPrice {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
}

/**
 * The built-in table: the design's prices for its seven models (input / output), plus the
 * providers' published prompt-cache prices for the models that have them.
 */
export const DEFAULT_PRICING: Readonly<Record<string, Readonly<ModelPrice>>> = Object.freeze({
  'gpt-4o': { input: 0.25, output: 1.0, cachedInput: 0.125 },
  'gpt-4o-mini': { input: 0.015, output: 0.06, cachedInput: 0.0075 },
  'gpt-4-turbo': { input: 1.0, output: 3.0 },
  'o1-preview': { input: 1.5, output: 6.0, cachedInput: 0.75 },
  'claude-3-5-sonnet': { input: 0.3, output: 1.5, cachedInput: 0.03, cacheWrite: 0.375 },
  'claude-3-opus': { input: 1.5, output: 7.5, cachedInput: 0.15, cacheWrite: 1.875 },
  'claude-3-haiku': { input: 0.025, output: 0.125, cachedInput: 0.003, cacheWrite: 0.03 },
});

/** Returns a reason when `price` is not a valid ModelPrice, else undefined. */
export function validateModelPrice(price: unknown): string | undefined {
  if (price === null || typeof price !== 'object') return 'must be an object { input, output }';
  const p = price as Record<string, unknown>;
  for (const key of ['input', 'output', 'cachedInput', 'cacheWrite']) {
    const v = p[key];
    if (v === undefined && (key === 'cachedInput' || key === 'cacheWrite')) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      return `${key} must be a non-negative number of US cents per 1K tokens`;
    }
  }
  return undefined;
}

/** Snapshot suffixes that name a dated release of a model family. */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/**
 * Candidate table keys for a model name, most specific first: the name itself, without a
 * `provider/` prefix, and without a dated snapshot suffix (`gpt-4o-2024-08-06` → `gpt-4o`,
 * `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`).
 */
export function modelFamilies(model: string): string[] {
  const out = [model];
  const bare = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model;
  if (bare !== model) out.push(bare);
  const family = bare.replace(SNAPSHOT_SUFFIX, '');
  if (family !== bare) out.push(family);
  return out;
}
