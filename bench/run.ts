import { cpus } from 'node:os';
import { benchHttpMiddleware, benchPassThrough, benchTrackedLlmCall } from './core.bench';

/** Runs every benchmark and prints medians. Figures vary between machines: compare ratios. */
async function main() {
   
  console.log(`node ${process.version}, ${cpus().length} cores\n\n== core: decorators and HTTP middleware ==`);
  await benchTrackedLlmCall();
  await benchPassThrough();
  await benchHttpMiddleware();
}

main().catch((error: unknown) => {
   
  console.error(error);
  process.exitCode = 1;
});
