import type { TokenUsage } from '../events/monitoring-event';

/**
 * Largest token count accepted for one field of one call: 100 million. The largest context
 * windows hold a few million tokens, so a bigger number is a corrupt response or a broken usage
 * extractor, and storing it would turn into an absurd cost.
 */
export const MAX_TOKENS_PER_CALL = 100_000_000;

/** Why a usage value was corrected. One value of the `reason` label of `llm_usage_invalid_total`. */
export type UsageIssue =
  /** The usage extractor returned something that is not an object (a number, a string…). */
  | 'not_an_object'
  /** The usage extractor threw; the built-in readers were used instead. */
  | 'extractor_error'
  /** A token field is absent. */
  | 'missing'
  /** A token field is not a number (a string, null…). */
  | 'not_a_number'
  /** A token field is NaN or ±Infinity. */
  | 'not_finite'
  /** A token field is below zero. */
  | 'negative'
  /** A token field has a fractional part. */
  | 'not_integer'
  /** A token field is above MAX_TOKENS_PER_CALL. */
  | 'too_large'
  /** Cached plus cache-write input tokens exceed the input tokens. */
  | 'cached_exceeds_input'
  /** Reasoning tokens exceed the output tokens. */
  | 'reasoning_exceeds_output'
  /** The computed cost was not a finite, non-negative amount. */
  | 'invalid_cost';

/** Every reason, in a fixed order (documentation and tests). */
export const USAGE_ISSUES: readonly UsageIssue[] = [
  'not_an_object',
  'extractor_error',
  'missing',
  'not_a_number',
  'not_finite',
  'negative',
  'not_integer',
  'too_large',
  'cached_exceeds_input',
  'reasoning_exceeds_output',
  'invalid_cost',
];

/** A usage record made safe to count and price, with the corrections that were needed. */
export interface ValidatedUsage {
  /** Null when there is no usage (none reported, or not an object). */
  usage: TokenUsage | null;
  /** The corrections, each reason at most once; empty when the input was valid. */
  issues: readonly UsageIssue[];
}

const NO_ISSUES: readonly UsageIssue[] = Object.freeze([]);

/** A whole number in [0, MAX_TOKENS_PER_CALL]: the common case, checked without allocating. */
function isValidCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TOKENS_PER_CALL;
}

/** One token count made valid: a whole number in [0, MAX_TOKENS_PER_CALL]. */
function count(value: unknown, issues: UsageIssue[]): number {
  if (isValidCount(value)) return value;
  let issue: UsageIssue;
  let result = 0;
  if (value === undefined) issue = 'missing';
  else if (typeof value !== 'number') issue = 'not_a_number';
  else if (!Number.isFinite(value)) issue = 'not_finite';
  else if (value < 0) issue = 'negative';
  else if (value > MAX_TOKENS_PER_CALL) issue = 'too_large';
  else {
    issue = 'not_integer';
    result = Math.round(value);
  }
  if (!issues.includes(issue)) issues.push(issue);
  return result;
}

/**
 * The one validation of token usage, applied where the LLM call event is built, so that cost,
 * metrics, logs and rows all see the same numbers. Rules:
 * - a count that is absent, not a number, not finite, negative or above MAX_TOKENS_PER_CALL is 0;
 *   a fractional count is rounded;
 * - cached and cache-write tokens are a subset of input tokens: cut down to fit, cached first;
 * - reasoning tokens are a subset of output tokens: cut down to fit;
 * - null or undefined is "no usage"; any other non-object is "no usage" plus `not_an_object`.
 * A valid record is returned as a new object with the same numbers.
 */
export function validateUsage(raw: unknown): ValidatedUsage {
  if (raw === null || raw === undefined) return { usage: null, issues: NO_ISSUES };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { usage: null, issues: ['not_an_object'] };
  const u = raw as Record<string, unknown>;
  const issues: UsageIssue[] = [];
  const input = count(u.inputTokens, issues);
  const output = count(u.outputTokens, issues);
  let cached = count(u.cachedInputTokens, issues);
  let written = count(u.cacheWriteInputTokens, issues);
  let reasoning = count(u.reasoningTokens, issues);
  if (cached + written > input) {
    issues.push('cached_exceeds_input');
    cached = Math.min(cached, input);
    written = Math.min(written, input - cached);
  }
  if (reasoning > output) {
    issues.push('reasoning_exceeds_output');
    reasoning = output;
  }
  return {
    usage: {
      inputTokens: input,
      outputTokens: output,
      cachedInputTokens: cached,
      cacheWriteInputTokens: written,
      reasoningTokens: reasoning,
    },
    issues: issues.length === 0 ? NO_ISSUES : issues,
  };
}

/** A cost that can be counted: a finite, non-negative amount, else null with `invalid_cost`. */
export function validateCost(costNanoCents: number | null, issues: UsageIssue[]): number | null {
  if (costNanoCents === null) return null;
  if (typeof costNanoCents === 'number' && Number.isFinite(costNanoCents) && costNanoCents >= 0) return costNanoCents;
  issues.push('invalid_cost');
  return null;
}
