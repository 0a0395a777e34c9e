/**
 * Exact money arithmetic for the analytics API. PostgreSQL returns `numeric` sums as decimal
 * strings; they are added here as integers of billionths of a cent (the scale of the
 * `cost_cents` columns), so no float ever touches a total.
 */

const NANO_PER_CENT = 1_000_000_000n;
const NUMERIC = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a PostgreSQL `numeric` value of cents (`'12.345000000'`, `'-0.5'`, `'7'`) into
 * billionths of a cent. Digits beyond the ninth decimal are rejected rather than rounded: the
 * schema stores nine, so more would mean the value did not come from it.
 */
export function parseCentsToNano(value: string | number | bigint | null | undefined): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'bigint') return value * NANO_PER_CENT;
  const text = typeof value === 'number' ? String(value) : value.trim();
  const match = NUMERIC.exec(text);
  if (!match) throw new RangeError(`not a decimal number of cents: "${text}"`);
  const [, sign, whole, frac = ''] = match;
  if (frac.length > 9 && /[1-9]/.test(frac.slice(9))) {
    throw new RangeError(`more than 9 decimals of cents: "${text}"`);
  }
  const nano = BigInt(whole!) * NANO_PER_CENT + BigInt(frac.slice(0, 9).padEnd(9, '0'));
  return sign ? -nano : nano;
}

function formatScaled(value: bigint, scale: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const divisor = 10n ** BigInt(scale);
  const whole = abs / divisor;
  const frac = (abs % divisor).toString().padStart(scale, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** An amount of money in cents and in US dollars, each as an exact decimal string and a number. */
export interface MoneyAmount {
  /** Exact cents, 9 decimals (`'1234.500000000'`). */
  cents: string;
  /** Exact US dollars, 11 decimals (`'12.34500000000'`). */
  usd: string;
  /** Cents as a JSON number (may lose precision beyond ~15 significant digits). */
  centsValue: number;
  /** Dollars as a JSON number (may lose precision beyond ~15 significant digits). */
  usdValue: number;
}

/** Formats billionths of a cent as a `MoneyAmount`. Dollars keep every digit (cents / 100). */
export function moneyFromNano(nano: bigint): MoneyAmount {
  const cents = formatScaled(nano, 9);
  // cents / 100 = nano-cents scaled by 10^11: the same integer, two more decimals.
  const usd = formatScaled(nano, 11);
  return { cents, usd, centsValue: Number(cents), usdValue: Number(usd) };
}

/** Formats billionths of a cent as an exact decimal string of cents with 9 decimals. */
export function formatNanoAsCents(nano: bigint): string {
  return formatScaled(nano, 9);
}
