import type { OnApplicationShutdown } from '@nestjs/common';
import type { Params as NestjsPinoParams } from 'nestjs-pino';
import pino, { stdSerializers, type DestinationStream, type Logger } from 'pino';
import type { LogDestination, MonitoringOptions } from '../monitoring-options.interface';
import { contextMixin } from './log-context';
import { isoTimestamp } from './log-line-format';
import type { LogLineOutput } from './log.sink';
import { LokiLogStream } from './loki/loki-log.stream';
import type { LokiShipperOptions } from './loki/loki-shipper';
import { RecentLogBuffer } from './recent-log.buffer';
import { redactSecrets, SecretKeyMatcher } from './secret-redaction';

/** Keys serialized by pino serializers; their output is redacted by the serializer itself. */
const SERIALIZED_KEYS: ReadonlySet<string> = new Set(['err', 'req', 'res']);

/** Buffer cap of the asynchronous stdout writer: beyond it lines are dropped rather than held. */
const STDOUT_MAX_BUFFER = 16 * 1024 * 1024;

/** `"level":"info"` rather than pino's numbers, as Grafana and LogQL users expect. */
const levelLabel = (label: string) => ({ level: label });

/**
 * The same string, flattened. A line built by appending fields is a tree of string pieces; kept
 * in the recent-logs buffer, every piece would survive each young-generation collection and be
 * copied and promoted one by one (the scavenge pauses of an app with logs on measured about twice
 * as long as with the buffer off). `Number()` makes V8 flatten the string to read it (the line
 * starts with `{`, so it stops at once), the approach of the `flatstr` package.
 */
function flat(line: string): string {
  Number(line);
  return line;
}

/**
 * Writes each line to every destination: the primary one (stdout, pretty stdout or the user's
 * stream), the recent-logs buffer and Loki. A failing destination never reaches the caller.
 * pino calls `write` for application lines; the hooks run first so that event lines queued
 * earlier are written before them.
 */
class LineFanOut implements DestinationStream {
  writeErrors = 0;
  readonly hooks: (() => void)[] = [];

  constructor(
    private readonly primary: LogDestination,
    private readonly recent: RecentLogBuffer | undefined,
    private readonly loki: LokiLogStream | undefined,
  ) {}

  write(line: string): void {
    for (const hook of this.hooks) hook();
    this.writeLine(line);
  }

  writeLine(line: string): void {
    try {
      this.primary.write(line);
    } catch {
      this.writeErrors++;
    }
    if (this.recent !== undefined) this.recent.add(flat(line));
    if (this.loki !== undefined) this.loki.write(line);
  }

  /** Several lines in one write per destination: what makes queued event lines cheap to write. */
  writeLines(lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (lines.length === 1) return this.writeLine(lines[0]!);
    const chunk = lines.join('');
    try {
      this.primary.write(chunk);
    } catch {
      this.writeErrors++;
    }
    if (this.recent !== undefined) {
      // Slices of the joined chunk: one string object per kept line, where each line itself is a
      // tree of the pieces it was built from (see `flat`).
      let at = 0;
      for (const line of lines) this.recent.add(chunk.slice(at, (at += line.length)));
    }
    if (this.loki !== undefined) this.loki.write(chunk);
  }
}

/**
 * Owns the module's log output: the application logger (used by nestjs-pino, so the app's Nest
 * `Logger` calls land here), the output of the log sink's event lines, and where lines go
 * (stdout, the recent-logs buffer, Loki through a worker-thread transport). Flushes and closes
 * them on shutdown, and writes pending lines if the process exits without a shutdown.
 */
export class LogPipeline implements LogLineOutput, OnApplicationShutdown {
  /** Logger for application lines: context mixin and secret redaction on every object. */
  readonly logger: Logger;
  /** Secret-key matcher shared by the loggers and the sink. */
  readonly secrets: SecretKeyMatcher;
  /** In-memory recent lines, when `recentLogsBufferSize` > 0. */
  readonly recent: RecentLogBuffer | undefined;
  /** Loki transport, when Loki is enabled. */
  readonly loki: LokiLogStream | undefined;

  private readonly stdout: (pino.DestinationStream & { flushSync?: () => void }) | undefined;
  private readonly fanOut: LineFanOut;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: MonitoringOptions) {
    this.secrets = new SecretKeyMatcher(options.logRedactKeys);
    this.recent =
      options.recentLogsBufferSize > 0
        ? new RecentLogBuffer(options.recentLogsBufferSize)
        : undefined;
    this.loki = options.lokiEnabled ? new LokiLogStream(lokiShipperOptions(options)) : undefined;

    let primary: LogDestination | undefined = options.logDestination;
    if (options.logPretty) primary = prettyDestination(primary);
    if (primary === undefined) {
      this.stdout = pino.destination({ dest: 1, sync: false, maxLength: STDOUT_MAX_BUFFER });
      primary = this.stdout;
    }
    this.fanOut = new LineFanOut(primary, this.recent, this.loki);

    const secrets = this.secrets;
    const redacting =
      <T>(serializer: (value: T) => unknown) =>
      (value: T) =>
        redactSecrets(serializer(value), secrets);
    this.logger = pino(
      {
        level: options.logLevel,
        timestamp: isoTimestamp,
        mixin: contextMixin,
        formatters: {
          level: levelLabel,
          log: (object) =>
            redactSecrets(object, secrets, SERIALIZED_KEYS) as Record<string, unknown>,
        },
        serializers: {
          err: redacting(stdSerializers.err),
          req: redacting(stdSerializers.req),
          res: redacting(stdSerializers.res),
        },
      },
      this.fanOut,
    );
    registerForExitFlush(this);
  }

  isLevelEnabled(level: string): boolean {
    return this.logger.isLevelEnabled(level);
  }

  writeLines(lines: readonly string[]): void {
    this.fanOut.writeLines(lines);
  }

  beforeApplicationLine(flush: () => void): void {
    this.fanOut.hooks.push(flush);
  }

  /** A process exiting without a shutdown (process.exit()) still gets its queued lines on stdout. */
  flushAtExit(): void {
    this.flushQueued();
    try {
      this.stdout?.flushSync?.();
    } catch {
      // Nothing more can be done at exit.
    }
  }

  private flushQueued(): void {
    for (const hook of this.fanOut.hooks) {
      try {
        hook();
      } catch {
        // A failing hook must not stop the others.
      }
    }
  }

  /** Lines the primary destination refused (they still reached the buffer and Loki). */
  get writeErrors(): number {
    return this.fanOut.writeErrors;
  }

  /**
   * nestjs-pino configuration: its `Logger` and `PinoLogger` write through this module's logger.
   * Its pino-http middleware is not mounted (`forRoutes: []`): the request tracking opens
   * nestjs-pino's request store itself, with the root logger, since the logger's mixin already
   * adds the request id to every line and a child logger per request would cost every request.
   */
  nestjsPinoParams(): NestjsPinoParams {
    return { forRoutes: [], pinoHttp: { logger: this.logger, autoLogging: false } };
  }

  /** Flushes stdout and pushes the last batch to Loki (bounded by `lokiShutdownTimeoutMs`). */
  onApplicationShutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    openPipelines.delete(this);
    if (openPipelines.size === 0) process.removeListener('exit', flushOpenPipelinesAtExit);
    this.flushQueued();
    if (this.loki) await this.loki.close(this.options.lokiShutdownTimeoutMs + 1000);
    try {
      this.stdout?.flushSync?.();
    } catch {
      // stdout may be a closed pipe at shutdown: nothing more can be done with the lines.
    }
  }
}

function lokiShipperOptions(options: MonitoringOptions): LokiShipperOptions {
  return {
    url: options.lokiUrl,
    labels: { app: options.appName, env: options.environment, ...options.lokiLabels },
    ...(options.lokiTenantId !== undefined ? { tenantId: options.lokiTenantId } : {}),
    batchSize: options.lokiBatchSize,
    batchIntervalMs: options.lokiBatchIntervalMs,
    maxBufferedLines: options.lokiMaxBufferedLines,
    maxRetries: options.lokiMaxRetries,
    timeoutMs: options.lokiTimeoutMs,
    shutdownTimeoutMs: options.lokiShutdownTimeoutMs,
  };
}

/**
 * pino-pretty in the main thread (development only), writing to the given destination or stdout.
 * Falls back to JSON lines when pino-pretty is not installed.
 */
function prettyDestination(destination: LogDestination | undefined): LogDestination | undefined {
  let build: ((options: Record<string, unknown>) => LogDestination) | undefined;
  try {
    // Optional dependency: loaded only when pretty-printing is asked for.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    build = require('pino-pretty') as (options: Record<string, unknown>) => LogDestination;
  } catch {
    process.emitWarning(
      'logPretty is on but pino-pretty is not installed: writing JSON lines',
      'MonitoringWarning',
    );
    return destination;
  }
  return build({
    ...(destination ? { destination } : { destination: 1, sync: false }),
    colorize: destination === undefined && process.stdout.isTTY === true,
    timestampKey: 'timestamp',
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    messageFormat: (log: Record<string, unknown>, messageKey: string) => {
      const message = log[messageKey] ?? log.event;
      return typeof message === 'string' ? message : JSON.stringify(message ?? '');
    },
  });
}

/**
 * Pipelines not shut down yet. One 'exit' listener serves them all: a process may run several
 * apps (tests, a CLI beside a server), and a listener per pipeline would pile up on `process`.
 */
const openPipelines = new Set<LogPipeline>();

function flushOpenPipelinesAtExit(): void {
  for (const pipeline of openPipelines) pipeline.flushAtExit();
}

function registerForExitFlush(pipeline: LogPipeline): void {
  if (openPipelines.size === 0) process.once('exit', flushOpenPipelinesAtExit);
  openPipelines.add(pipeline);
}
