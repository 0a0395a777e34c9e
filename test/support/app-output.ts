import { Writable } from 'node:stream';
import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { MonitoringModule, type MonitoringModuleOptions } from '../../src/monitoring';

/**
 * What the apps under test write, kept in memory instead of the test run's output: the module's
 * log lines (every `MonitoringModule` built in a test file logs here unless the test passes its
 * own `logDestination`) and Nest's own logger. The lines of a failing test are printed under it
 * (see `quiet-test.environment.js`); a test can read them with `appOutput.lines`.
 */
export class AppOutput {
  /** Every line, in order. */
  readonly lines: string[] = [];
  private mark = 0;

  /** A destination for `logDestination`: newline-separated JSON lines. */
  readonly destination = new Writable({
    decodeStrings: false,
    write: (chunk: string | Buffer, _encoding, callback) => {
      this.add(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });

  /** Nest's logger (for `Logger.overrideLogger`): formatted as "LEVEL [context] message". */
  readonly nestLogger: LoggerService = {
    log: (message: unknown, ...rest: unknown[]) => this.nest('log', message, rest),
    error: (message: unknown, ...rest: unknown[]) => this.nest('error', message, rest),
    warn: (message: unknown, ...rest: unknown[]) => this.nest('warn', message, rest),
    debug: (message: unknown, ...rest: unknown[]) => this.nest('debug', message, rest),
    verbose: (message: unknown, ...rest: unknown[]) => this.nest('verbose', message, rest),
    fatal: (message: unknown, ...rest: unknown[]) => this.nest('fatal', message, rest),
  };

  add(text: string): void {
    for (const line of text.split('\n')) if (line.length > 0) this.lines.push(line);
  }

  /** Marks the start of a test: `sinceMark()` returns what was written from here on. */
  startTest(): void {
    this.mark = this.lines.length;
  }

  sinceMark(): string {
    return this.lines.slice(this.mark).join('\n');
  }

  private nest(level: LogLevel, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? `[${String(rest.pop())}] ` : '';
    const detail = rest.map((r) => (r instanceof Error ? r.stack : String(r))).join(' ');
    const text = message instanceof Error ? message.stack : String(message);
    this.add(`${level.toUpperCase()} ${context}${text}${detail ? ` ${detail}` : ''}`);
  }
}

/** The output of the apps of the running test file. */
export const appOutput = new AppOutput();
(globalThis as { __appOutput?: AppOutput }).__appOutput = appOutput;

Logger.overrideLogger(appOutput.nestLogger);

const forRoot = MonitoringModule.forRoot.bind(MonitoringModule);
const forRootAsync = MonitoringModule.forRootAsync.bind(MonitoringModule);
const withCapture = (options: MonitoringModuleOptions): MonitoringModuleOptions => ({
  logDestination: appOutput.destination,
  ...options,
});
MonitoringModule.forRoot = (options: MonitoringModuleOptions = {}) => forRoot(withCapture(options));
MonitoringModule.forRootAsync = (options) =>
  forRootAsync({
    ...options,
    useFactory: async (...args: unknown[]) => withCapture(await options.useFactory(...args)),
  });
