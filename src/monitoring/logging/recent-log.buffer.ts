/**
 * The most recent log lines, kept in process for `GET /api/analytics/recent-logs` when no Loki is
 * configured. Lines are stored as the JSON text pino wrote (one slot assignment per line) and
 * parsed only when read.
 */
export class RecentLogBuffer {
  private readonly lines: (string | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.lines = new Array<string | undefined>(capacity);
  }

  /** Number of lines held. */
  get size(): number {
    return this.count;
  }

  /** Keeps one line, evicting the oldest when full. */
  add(line: string): void {
    this.lines[this.next] = line;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.count < this.capacity) this.count++;
  }

  /** Lines from the newest to the oldest. */
  *newestFirst(): IterableIterator<string> {
    let i = this.next;
    for (let n = 0; n < this.count; n++) {
      i = i === 0 ? this.capacity - 1 : i - 1;
      const line = this.lines[i];
      if (line !== undefined) yield line;
    }
  }
}
