import { benchHttpMiddleware, benchPassThrough, benchTrackedLlmCall } from './core.bench';

/** Runs every benchmark and prints medians. Figures vary between machines: compare ratios. */
async function main() {
  // eslint-disable-next-line no-console
  console.log(`node ${process.version}, ${require('node:os').cpus().length} cores\n\n== core: decorators and HTTP middleware ==`);
  await benchTrackedLlmCall();
  await benchPassThrough();
  await benchHttpMiddleware();
}

main().catch((error: unknown) => {
  // eslint-disable-next-line no-console
  console.error(error);
  process.exitCode = 1;
});
