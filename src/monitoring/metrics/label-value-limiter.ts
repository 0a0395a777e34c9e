/** Value that replaces label values beyond the cap. */
export const OTHER_LABEL_VALUE = 'other';

/**
 * Caps the number of distinct values of one label (agent_id, model, workflow_id…) so that an
 * unbounded id cannot explode the number of series: once `max` values were seen, new ones are
 * reported as `other`.
 */
export class LabelValueLimiter {
  private readonly seen = new Set<string>();
  /** How many observations were folded into `other`. */
  folded = 0;

  constructor(
    readonly label: string,
    private readonly max: number,
  ) {}

  fold(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    this.folded++;
    return OTHER_LABEL_VALUE;
  }
}
