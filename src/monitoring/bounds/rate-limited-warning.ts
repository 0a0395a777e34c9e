/** Where warnings go (a Nest `Logger` fits). */
export interface WarningLogger {
  warn(message: string): void;
}

/**
 * Writes at most `perWindow` warnings per window (default 10 per minute); the ones beyond are
 * counted and summed up in one line when the next warning is allowed. Input that varies without
 * bound (model names, odd usage objects) can then never flood the log.
 */
export class RateLimitedWarning {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;
  /** Warnings dropped since the logger was created. */
  totalSuppressed = 0;

  constructor(
    private readonly logger: WarningLogger,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(message: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.written = 0;
      if (this.suppressed > 0) {
        this.logger.warn(`${this.suppressed} similar warnings were suppressed in the last ${Math.round(this.windowMs / 1000)} s`);
        this.suppressed = 0;
      }
    }
    if (this.written < this.perWindow) {
      this.written++;
      this.logger.warn(message);
      return;
    }
    this.suppressed++;
    this.totalSuppressed++;
  }
}
