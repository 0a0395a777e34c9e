/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Nanoseconds per call of `fn`, as the median of `runs` timed batches of `iterations` calls each,
 * after a warm-up batch. Async functions are awaited one at a time; every 1,024 calls the event
 * loop gets a turn, untimed unless `timeDeferred` (then the work sinks defer to that turn — log
 * serialisation, row mapping — is counted too).
 */
export async function nsPerCall(
  fn: () => unknown,
  iterations = 100_000,
  runs = 9,
  timeDeferred = false,
): Promise<number> {
  const batch = async () => {
    let elapsed = 0n;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      const r = fn();
      if (r !== undefined && typeof (r as Promise<unknown>).then === 'function')
        await (r as Promise<unknown>);
      if ((i & 1023) === 1023) {
        // Let timers and I/O run, as they would between requests, without timing them: work a
        // sink defers off the caller's path (a batch INSERT, a log write) is not part of the call.
        if (!timeDeferred) elapsed += process.hrtime.bigint() - t0;
        await new Promise((resolve) => setImmediate(resolve));
        if (!timeDeferred) t0 = process.hrtime.bigint();
      }
    }
    elapsed += process.hrtime.bigint() - t0;
    return Number(elapsed) / iterations;
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
export async function compare(
  variants: Record<string, () => unknown>,
  iterations = 100_000,
  runs = 9,
  timeDeferred = false,
): Promise<Record<string, number>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await nsPerCall(variants[n]!, iterations, 1, timeDeferred);
  for (let r = 0; r < runs; r++) {
    for (const n of names)
      samples[n]!.push(await nsPerCall(variants[n]!, iterations, 1, timeDeferred));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

/** Prints a table row. */
export function row(label: string, value: string): void {
  console.log(`${label.padEnd(62)} ${value}`);
}

export const us = (ns: number) => `${(ns / 1000).toFixed(3)} µs`;
