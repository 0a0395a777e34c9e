/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Pseudo-random integer in [min, max]. */
export const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/** Rough token count of a prompt (about four characters a token). */
export const countTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** Error raised by the simulated providers, shaped like the SDKs' API errors. */
export class ProviderApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderApiError';
  }
}

/** Settings of the simulated providers (scaled down in tests). */
export interface SimulationSettings {
  /** Multiplies every simulated latency. 0 in tests. */
  latencyScale: number;
  /** Probability that a call fails with a 429/500. */
  failureRate: number;
}

export const DEFAULT_SIMULATION: SimulationSettings = { latencyScale: 1, failureRate: 0.03 };
