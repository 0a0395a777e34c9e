/** Value that replaces label values beyond the cap. */
export const OTHER_LABEL_VALUE = 'other';

/** Default longest label value, in characters (option `maxLabelValueLength`). */
export const DEFAULT_MAX_LABEL_VALUE_LENGTH = 128;

/** Shortest accepted `maxLabelValueLength`: room for a prefix, `~` and the 8-character hash. */
export const MIN_LABEL_VALUE_LENGTH = 16;

/** 32-bit FNV-1a of a string, as 8 hex digits: a stable, dependency-free fingerprint. */
function fnv1a(value: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Cuts a label value to `max` characters: the first `max - 9` characters, `~`, then a hash of the
 * whole value. The same input always gives the same output, and two long values sharing a prefix
 * stay two series. Values within the limit are returned as they are.
 */
export function truncateLabelValue(value: string, max: number): string {
  if (value.length <= max) return value;
  let prefix = value.slice(0, max - 9);
  // Do not leave half of a surrogate pair at the cut.
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) prefix = prefix.slice(0, -1);
  return `${prefix}~${fnv1a(value)}`;
}

/**
 * Caps the number of distinct values of one label (agent_id, model, workflow_id…) so that an
 * unbounded id cannot explode the number of series: once `max` values were seen, new ones are
 * reported as `other`. Values are also cut to `maxLength` characters, so the memory held here and
 * the size of /metrics stay bounded whatever the values are.
 */
export class LabelValueLimiter {
  private readonly seen = new Set<string>();
  /** How many observations were folded into `other`. */
  folded = 0;

  constructor(
    readonly label: string,
    private readonly max: number,
    private readonly maxLength = DEFAULT_MAX_LABEL_VALUE_LENGTH,
  ) {}

  fold(raw: string): string {
    const value = raw.length > this.maxLength ? truncateLabelValue(raw, this.maxLength) : raw;
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    this.folded++;
    return OTHER_LABEL_VALUE;
  }
}
