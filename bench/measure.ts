/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Nanoseconds per call of `fn`, as the median of `runs` timed batches of `iterations` calls each,
 * after a warm-up batch. Async functions are awaited one at a time.
 */
export async function nsPerCall(fn: () => unknown, iterations = 100_000, runs = 9): Promise<number> {
  const batch = async () => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      const r = fn();
      if (r !== undefined && typeof (r as Promise<unknown>).then === 'function') await (r as Promise<unknown>);
    }
    return Number(process.hrtime.bigint() - t0) / iterations;
  };
  await batch();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await batch());
  return median(samples);
}

/**
 * Measures several variants interleaved (A B C A B C …) so that machine noise hits them alike;
 * returns the median ns/call of each.
 */
export async function compare(variants: Record<string, () => unknown>, iterations = 100_000, runs = 9): Promise<Record<string, number>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await nsPerCall(variants[n]!, iterations, 1);
  for (let r = 0; r < runs; r++) {
    for (const n of names) samples[n]!.push(await nsPerCall(variants[n]!, iterations, 1));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

/** Prints a table row. */
export function row(label: string, value: string): void {
   
  console.log(`${label.padEnd(62)} ${value}`);
}

export const us = (ns: number) => `${(ns / 1000).toFixed(3)} µs`;
