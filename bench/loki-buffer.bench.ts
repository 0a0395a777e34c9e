/**
 * Memory held for Loki while Loki accepts connections but never answers (the worst case: a
 * slow or stuck Loki), for pino-loki 2.6 and for this module's shipper, given the same lines.
 *
 * Run from the repository root:
 *   node --expose-gc -r ./src/monitoring/logging/typescript-worker-loader.cjs bench/loki-buffer.bench.ts
 *
 * Both run in this thread here (in the application they run in the transport's worker thread,
 * whose heap is bounded the same way), so the heap growth is theirs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { LokiShipper } from '../src/monitoring/logging/loki/loki-shipper';

export interface LokiBufferResult {
  lines: number;
  lineBytes: number;
  /** Heap growth (MB) after writing the lines and letting the shipper work for a while. */
  pinoLokiHeapMb: number;
  shipperHeapMb: number;
  shipperBuffered: number;
  shipperDropped: number;
}

function line(i: number): string {
  return JSON.stringify({
    level: 'info',
    timestamp: new Date(Date.UTC(2025, 0, 15, 10, 0, 0, i % 1000)).toISOString(),
    pid: 1,
    hostname: 'app-1',
    event: 'llm_call_completed',
    provider: 'openai',
    model: 'gpt-4o',
    prompt_tokens: 1250,
    completion_tokens: 380,
    latency_ms: 2340.5,
    cost_cents: 0.6925,
    request_id: `req-${i.toString(16).padStart(12, '0')}`,
    workflow_id: 'kpi-report',
    workflow_run_id: `run-${i}`,
    agent_id: 'kpi-calculator',
    user_id: 'user-7',
    tenant_id: 'tenant-3',
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Writes `lines` lines in slices, as traffic would, then waits `settleMs`. */
async function feed(write: (line: string) => void, lines: number, settleMs: number): Promise<void> {
  for (let i = 0; i < lines; i++) {
    write(line(i));
    if (i % 5000 === 4999) await pause(20);
  }
  await pause(settleMs);
}

export async function runLokiBufferBench(lines = 200_000): Promise<LokiBufferResult> {
  // Accepts pushes and never answers them.
  const stuck: Server = createServer(() => undefined);
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`;

  // pino-loki 2.6 with its defaults, except a short interval so that batches go out during the run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pinoLoki } = require('pino-loki') as {
    pinoLoki: (o: Record<string, unknown>) => Writable;
  };
  let base = heapMb();
  const transport = pinoLoki({ host: url, batching: true, interval: 0.2, silenceErrors: true });
  await feed((l) => transport.write(`${l}\n`), lines, 1500);
  const pinoLokiHeapMb = heapMb() - base;
  transport.destroy();
  await pause(200);

  base = heapMb();
  const shipper = new LokiShipper({
    url,
    labels: { app: 'magure-ai', env: 'bench' },
    batchSize: 1000,
    batchIntervalMs: 200,
    maxBufferedLines: 10_000,
    maxRetries: 8,
    timeoutMs: 5000,
    shutdownTimeoutMs: 100,
  });
  await feed((l) => shipper.add(l), lines, 1500);
  const shipperHeapMb = heapMb() - base;
  const stats = shipper.snapshot();
  await shipper.close();

  stuck.closeAllConnections();
  stuck.close();
  return {
    lines,
    lineBytes: line(0).length,
    pinoLokiHeapMb,
    shipperHeapMb,
    shipperBuffered: stats.buffered + stats.inFlight,
    shipperDropped: stats.dropped.buffer_full,
  };
}

if (require.main === module) {
  runLokiBufferBench().then(
    (r) => {
      console.log(
        `${r.lines} lines of ${r.lineBytes} bytes written while Loki accepts but never answers:`,
      );
      console.log(
        `  pino-loki 2.6:          heap +${r.pinoLokiHeapMb.toFixed(1)} MB (no cap: every line is held until its push times out)`,
      );
      console.log(
        `  this module's shipper:  heap +${r.shipperHeapMb.toFixed(1)} MB, ${r.shipperBuffered} lines held, ${r.shipperDropped} oldest dropped and counted`,
      );
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
