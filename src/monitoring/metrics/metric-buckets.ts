/**
 * Duration buckets (seconds) for LLM calls, agent executions and workflow runs: the OpenTelemetry
 * GenAI semantic conventions' `gen_ai.client.operation.duration` advice, extended to ~5.5 minutes.
 */
export const LLM_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68,
];

/** Duration buckets (seconds) for HTTP requests: API calls, some of which wait on LLMs. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
