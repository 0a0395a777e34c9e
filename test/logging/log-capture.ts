import { Writable } from 'node:stream';

/** Collects the JSON lines written by the module, parsed. */
export class LogCapture extends Writable {
  readonly raw: string[] = [];

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _encoding: string, callback: () => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (const line of text.split('\n')) if (line.length > 0) this.raw.push(line);
    callback();
  }

  /** Every line, parsed (throws if a line is not JSON: every line must be). */
  get lines(): Record<string, any>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, any>);
  }

  /** Lines whose `event` field is one of the given names. */
  events(...names: string[]): Record<string, any>[] {
    return this.lines.filter((l) => names.includes(l.event));
  }

  clear(): void {
    this.raw.length = 0;
  }
}

/** Polls `condition` every 10 ms until it holds, failing with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
