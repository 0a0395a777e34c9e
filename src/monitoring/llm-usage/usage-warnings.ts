import { Logger } from '@nestjs/common';
import { BoundedCache } from '../bounds/bounded-cache';
import { RateLimitedWarning } from '../bounds/rate-limited-warning';
import type { UsageIssue } from './usage-validation';

/** Provider/model pairs remembered as "already warned about missing usage". */
const WARNED_PAIRS_CAPACITY = 1_000;

/**
 * Warnings about token usage, written at most a few times a minute whatever the traffic: invalid
 * usage (rate-limited) and missing usage (once per provider/model, then rate-limited too).
 */
export class UsageWarnings {
  private readonly logger = new Logger('Monitoring');
  private readonly invalid = new RateLimitedWarning(this.logger);
  private readonly missing = new RateLimitedWarning(this.logger);
  private readonly warnedMissing = new BoundedCache<string, true>(WARNED_PAIRS_CAPACITY);

  /** A call's usage needed corrections. */
  invalidUsage(provider: string, model: string, issues: readonly UsageIssue[]): void {
    this.invalid.warn(
      `invalid token usage from provider "${short(provider)}" model "${short(model)}" (${issues.join(', ')}): ` +
        'the bad counts were recorded as 0 or cut down to fit; see llm_usage_invalid_total',
    );
  }

  /** A successful call reported no usage: its tokens and cost are unknown. */
  usageMissing(provider: string, model: string, streamed: boolean): void {
    const key = `${provider}\u0000${model}`;
    if (this.warnedMissing.has(key)) return;
    this.warnedMissing.set(key, true);
    const fix = streamed
      ? 'For OpenAI chat streams pass `stream_options: { include_usage: true }`; for other streams make sure the final event is consumed'
      : 'Return the provider response (or set the `usage` option of @TrackLLM / `usageExtractor`)';
    this.missing.warn(
      `LLM call to provider "${short(provider)}" model "${short(model)}" reported no token usage: its tokens and cost are unknown ` +
        `(counted in llm_usage_missing_total, not as unpriced). ${fix}`,
    );
  }
}

/** Keeps log lines short when a name is absurdly long. */
function short(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}…` : value;
}
