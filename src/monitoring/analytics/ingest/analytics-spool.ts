import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { ANALYTICS_TABLES, type AnalyticsRow, type AnalyticsTable } from './analytics-tables';

/**
 * When spooled rows are forced to the disk: `always` after every append (each event-loop turn
 * that queued rows), `interval` every `fsyncIntervalMs`, `never` left to the operating system.
 * A process crash (SIGKILL, OOM kill) loses nothing the spool has appended, whatever the policy:
 * the data is in the kernel's page cache. The policy bounds what a machine crash or power loss
 * can take.
 */
export type SpoolFsyncPolicy = 'always' | 'interval' | 'never';

/** Settings of the local spool. */
export interface AnalyticsSpoolSettings {
  /** Directory of the segment files (created if missing). */
  dir: string;
  /** Most bytes held on disk; beyond it rows are not spooled (and dropped if memory is full too). */
  maxBytes: number;
  fsync: SpoolFsyncPolicy;
  fsyncIntervalMs: number;
  /** A segment is closed and a new one started past this size. */
  segmentBytes?: number;
}

/** One spooled row: its table and its values. */
export type SpooledRow = readonly [AnalyticsTable, AnalyticsRow];

/** Rows of one table to append: `rows[from]` to the last. */
export interface SpoolRun {
  table: AnalyticsTable;
  rows: readonly unknown[];
  from: number;
}

/**
 * One line of a segment: `["<table>",[...values]]` and a newline, the text of
 * `JSON.stringify([table, row])` (table names need no escaping) without allocating the pair.
 */
function spoolLine(table: AnalyticsTable, row: AnalyticsRow): string {
  return `["${table}",${JSON.stringify(row)}]\n`;
}

/** Spool directories open in this process (the pid in the lock file cannot tell two apps apart). */
const OPEN_HERE = new Set<string>();

const SEGMENT_FILE = /^(journal|overflow)-(\d{12})\.jsonl$/;
const TABLES = new Set<string>(ANALYTICS_TABLES);

interface Segment {
  id: number;
  kind: 'journal' | 'overflow';
  path: string;
  bytes: number;
  /** Rows of this segment still waiting in the memory queue (journal segments only). */
  outstanding: number;
  sealed: boolean;
}

/**
 * An append-only local store for analytics rows, in the manner of Vector's disk buffers and
 * Fluent Bit's filesystem storage: newline-delimited JSON segment files in one directory.
 *
 * Two kinds of segments. A `journal` segment is a write-ahead copy of rows that are also in the
 * memory queue; the queue releases them as PostgreSQL confirms them, and a segment whose rows are
 * all confirmed is deleted. An `overflow` segment holds rows the memory queue had no room for;
 * it is replayed into PostgreSQL when the database keeps up again. Every segment still on disk
 * when the process starts (a crash, or a shutdown whose budget ran out) is replayed once the
 * database is reachable. Rows carry their UUIDv7 ids and the INSERT is `ON CONFLICT DO NOTHING`,
 * so a row both written and still spooled is stored once.
 *
 * All writes are synchronous appends made by the write queue once per turn of the event loop
 * (not from the request), so within a table the order of the file is the order rows were accepted,
 * and a crash can only cut the last line short (such a line is skipped on replay).
 */
export class AnalyticsSpool {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private readonly segments = new Map<number, Segment>();
  private readonly active: Partial<Record<Segment['kind'], { segment: Segment; fd: number }>> = {};
  private nextId = 1;
  private totalBytes = 0;
  private dirty = false;
  private fsyncTimer?: NodeJS.Timeout;
  private lockPath: string;
  private opened = false;

  constructor(private readonly settings: AnalyticsSpoolSettings) {
    this.dir = resolve(settings.dir);
    this.segmentBytes = settings.segmentBytes ?? 8 * 1024 * 1024;
    this.lockPath = join(this.dir, 'spool.lock');
  }

  /** True once opened (and until closed): rows can be appended. */
  get usable(): boolean {
    return this.opened;
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Where the segments are. */
  get directory(): string {
    return this.dir;
  }

  /**
   * Creates the directory, takes its lock (one process per directory) and lists the segments a
   * previous process left, which `replayable()` then returns. Throws when another live process
   * holds the directory.
   */
  open(): void {
    if (this.opened) return;
    mkdirSync(this.dir, { recursive: true });
    this.lock();
    for (const name of readdirSync(this.dir).sort()) {
      const match = SEGMENT_FILE.exec(name);
      if (!match) continue;
      const path = join(this.dir, name);
      const id = Number(match[2]);
      const bytes = statSync(path).size;
      this.segments.set(id, { id, kind: match[1] as Segment['kind'], path, bytes, outstanding: 0, sealed: true });
      this.totalBytes += bytes;
      this.nextId = Math.max(this.nextId, id + 1);
    }
    if (this.settings.fsync === 'interval') {
      this.fsyncTimer = setInterval(() => this.sync(), this.settings.fsyncIntervalMs);
      this.fsyncTimer.unref();
    }
    this.opened = true;
  }

  /**
   * Appends rows to the active segment of `kind`. Returns that segment's id, or undefined when
   * the spool is full (nothing is written then). Journal rows count as outstanding until released.
   */
  append(kind: Segment['kind'], rows: readonly SpooledRow[]): number | undefined {
    if (rows.length === 0 || !this.opened) return undefined;
    let text = '';
    for (const [table, row] of rows) text += spoolLine(table, row);
    return this.appendText(kind, text, rows.length);
  }

  /**
   * Appends `rows[from..]` of each run, all in one `write()`, to the active segment of `kind`
   * (same result as `append` with one entry per row, without building those entries). Returns the
   * segment's id, or undefined when the spool is full (nothing is written then).
   */
  appendRuns(kind: Segment['kind'], runs: readonly SpoolRun[]): number | undefined {
    if (!this.opened) return undefined;
    let text = '';
    let count = 0;
    for (const { table, rows, from } of runs) {
      for (let i = from; i < rows.length; i++) text += spoolLine(table, rows[i] as AnalyticsRow);
      count += Math.max(0, rows.length - from);
    }
    return count === 0 ? undefined : this.appendText(kind, text, count);
  }

  private appendText(kind: Segment['kind'], text: string, count: number): number | undefined {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (this.totalBytes + bytes > this.settings.maxBytes) return undefined;
    let current = this.active[kind];
    if (current && current.segment.bytes >= this.segmentBytes) {
      this.seal(kind);
      current = undefined;
    }
    current ??= this.startSegment(kind);
    // The string is encoded by the native write (no Buffer of the turn's rows on the JS heap);
    // the rare short write of a regular file is completed from an encoded copy.
    let written = writeSync(current.fd, text);
    if (written < bytes) {
      const data = Buffer.from(text, 'utf8');
      while (written < bytes) written += writeSync(current.fd, data, written);
    }
    current.segment.bytes += bytes;
    this.totalBytes += bytes;
    if (kind === 'journal') current.segment.outstanding += count;
    if (this.settings.fsync === 'always') fsyncSync(current.fd);
    else this.dirty = true;
    return current.segment.id;
  }

  /**
   * Marks `count` rows of a journal segment as confirmed by the database (or given up). A segment
   * with nothing outstanding is deleted (the active one is started afresh).
   */
  release(segmentId: number, count: number): void {
    const segment = this.segments.get(segmentId);
    if (!segment || segment.kind !== 'journal') return;
    segment.outstanding = Math.max(0, segment.outstanding - count);
    if (segment.outstanding > 0) return;
    // Deleted at once: no point forcing its data to the disk first.
    if (!segment.sealed) this.seal('journal', false);
    this.remove(segmentId);
  }

  /**
   * Closed segments to write into the database, oldest first: every segment a previous process
   * left, and this process's closed overflow segments. The active overflow segment is closed
   * first so that what is there now is included.
   */
  replayable(): number[] {
    if (this.active.overflow) this.seal('overflow');
    const ids: number[] = [];
    for (const segment of this.segments.values()) {
      if (segment.sealed && (segment.kind === 'overflow' || segment.outstanding === 0)) ids.push(segment.id);
    }
    return ids.sort((a, b) => a - b);
  }

  /** True when `replayable()` has something: overflow rows, or segments of a previous process. */
  get hasReplayable(): boolean {
    for (const segment of this.segments.values()) {
      if (segment.kind === 'overflow' && segment.bytes > 0) return true;
      if (segment.sealed && segment.outstanding === 0) return true;
    }
    return false;
  }

  /** Reads a closed segment. A line cut short by a crash is skipped and counted in `damaged`. */
  read(segmentId: number): { rows: SpooledRow[]; damaged: number } {
    const segment = this.segments.get(segmentId);
    if (!segment) return { rows: [], damaged: 0 };
    const rows: SpooledRow[] = [];
    let damaged = 0;
    for (const line of readFileSync(segment.path, 'utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        const parsed = JSON.parse(line) as unknown;
        if (
          Array.isArray(parsed) &&
          parsed.length === 2 &&
          TABLES.has(parsed[0] as string) &&
          Array.isArray(parsed[1])
        ) {
          rows.push(parsed as unknown as SpooledRow);
        } else damaged++;
      } catch {
        damaged++;
      }
    }
    return { rows, damaged };
  }

  /** Deletes a segment (after its rows are in the database). */
  remove(segmentId: number): void {
    const segment = this.segments.get(segmentId);
    if (!segment) return;
    this.segments.delete(segmentId);
    this.totalBytes -= segment.bytes;
    try {
      unlinkSync(segment.path);
    } catch {
      // Already gone.
    }
  }

  /** Forces appended rows to the disk. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    for (const current of Object.values(this.active)) if (current) fsyncSync(current.fd);
  }

  /**
   * Forces everything to the disk and closes the files. Journal segments with rows still
   * outstanding stay for the next start; the rest are deleted.
   */
  close(): void {
    if (!this.opened) return;
    this.opened = false;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    if (this.settings.fsync !== 'never') this.dirty = true;
    this.sync();
    for (const kind of ['journal', 'overflow'] as const) if (this.active[kind]) this.seal(kind);
    for (const segment of [...this.segments.values()]) {
      if (segment.kind === 'journal' && segment.outstanding === 0 && segment.bytes === 0) this.remove(segment.id);
    }
    OPEN_HERE.delete(this.dir);
    try {
      unlinkSync(this.lockPath);
    } catch {
      // Not ours any more.
    }
  }

  /** Rows of journal segments still waiting in memory (those a shutdown leaves for the next start). */
  get outstandingRows(): number {
    let n = 0;
    for (const segment of this.segments.values()) n += segment.outstanding;
    return n;
  }

  private startSegment(kind: Segment['kind']): { segment: Segment; fd: number } {
    const id = this.nextId++;
    const path = join(this.dir, `${kind}-${String(id).padStart(12, '0')}.jsonl`);
    const fd = openSync(path, 'a');
    const segment: Segment = { id, kind, path, bytes: 0, outstanding: 0, sealed: false };
    this.segments.set(id, segment);
    const current = { segment, fd };
    this.active[kind] = current;
    return current;
  }

  private seal(kind: Segment['kind'], durable = true): void {
    const current = this.active[kind];
    if (!current) return;
    if (durable && this.settings.fsync !== 'never' && current.segment.bytes > 0) fsyncSync(current.fd);
    closeSync(current.fd);
    current.segment.sealed = true;
    this.active[kind] = undefined;
    if (current.segment.bytes === 0) this.remove(current.segment.id);
  }

  private lock(): void {
    if (OPEN_HERE.has(this.dir)) {
      throw new Error(`spool directory ${this.dir} is in use by another application in this process`);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.lockPath, String(process.pid), { flag: 'wx' });
        OPEN_HERE.add(this.dir);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(readFileSync(this.lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`spool directory ${this.dir} is in use by process ${holder}`);
      }
      // Left by a process that is gone (or by this one): take it over.
      unlinkSync(this.lockPath);
    }
    throw new Error(`cannot lock spool directory ${this.dir}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
